#!/usr/bin/env node
// Finds the libtorch to build against and prints one gyp value (used by binding.gyp).
//
//   LIBTORCH=/path             an official libtorch (include/, lib/), CPU or CUDA
//   LIBTORCH_USE_PYTORCH=1     the libtorch inside the Python torch install (python3 -c "import torch")
//   (neither)                  the system one: Debian/Ubuntu `apt-get install libtorch-dev`
//
// Usage: node find-libtorch.mjs include|libdir|libs|defines|describe
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const HOW_TO =
  "libtorch was not found. Provide it in one of three ways:\n" +
  "  1. Debian/Ubuntu: apt-get install -y libtorch-dev libopenblas0-pthread\n" +
  "  2. an official libtorch build: export LIBTORCH=/path/to/libtorch (the folder holding include/ and lib/)\n" +
  "  3. the libtorch of a Python torch install: export LIBTORCH_USE_PYTORCH=1 (python3 -c 'import torch' must work)";

function fail(message) {
  process.stderr.write(`\n[stts] ${message}\n\n`);
  process.exit(1);
}

function fromPrefix(prefix, source, cxx11Abi) {
  const include = join(prefix, "include");
  const lib = join(prefix, "lib");
  if (!existsSync(join(include, "ATen", "ATen.h"))) fail(`${source}: ${include}/ATen/ATen.h not found.\n${HOW_TO}`);
  if (!existsSync(lib)) fail(`${source}: ${lib} not found.\n${HOW_TO}`);
  return { source, includes: [include, join(include, "torch", "csrc", "api", "include")], libdir: lib, cxx11Abi };
}

function locate() {
  if (process.env.LIBTORCH) {
    return fromPrefix(process.env.LIBTORCH, `LIBTORCH=${process.env.LIBTORCH}`, process.env.LIBTORCH_CXX11_ABI !== "0");
  }
  if (process.env.LIBTORCH_USE_PYTORCH === "1") {
    let out;
    try {
      out = execFileSync(
        process.env.PYTHON ?? "python3",
        ["-c", "import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))"],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
    } catch (error) {
      fail(`LIBTORCH_USE_PYTORCH=1 but python3 could not import torch: ${String(error.stderr ?? error).trim()}\n${HOW_TO}`);
    }
    const [dir, abi] = out.trim().split("\n");
    return fromPrefix(dir, `Python torch at ${dir}`, abi === "1");
  }
  for (const multiarch of ["x86_64-linux-gnu", "aarch64-linux-gnu"]) {
    const libdir = `/usr/lib/${multiarch}`;
    if (existsSync("/usr/include/ATen/ATen.h") && existsSync(join(libdir, "libtorch.so"))) {
      return { source: "system libtorch-dev", includes: ["/usr/include/torch/csrc/api/include"], libdir, cxx11Abi: true };
    }
  }
  fail(HOW_TO);
}

const found = locate();
const libs = ["-ltorch", "-ltorch_cpu", "-lc10"];
// CUDA builds register their kernels from libtorch_cuda at load time: keep it linked even if unreferenced.
const cudaLibs = readdirSync(found.libdir).filter((f) => /^libtorch_cuda\.so$|^libc10_cuda\.so$/.test(f));
if (cudaLibs.length > 0) libs.unshift("-Wl,--no-as-needed", ...cudaLibs.map((f) => `-l${f.slice(3, -3)}`), "-Wl,--as-needed");

const what = process.argv[2];
const print = (values) => process.stdout.write(values.join(" ") + "\n");
switch (what) {
  case "include":
    print(found.includes);
    break;
  case "libdir":
    print([found.libdir]);
    break;
  case "libs":
    print([`-L${found.libdir}`, `-Wl,-rpath,${found.libdir}`, ...libs]);
    break;
  case "defines":
    print([`_GLIBCXX_USE_CXX11_ABI=${found.cxx11Abi ? 1 : 0}`]);
    break;
  case "describe":
    print([`${found.source} (${found.libdir})`]);
    break;
  default:
    fail(`find-libtorch: unknown query '${what}' (expected include, libdir, libs, defines or describe)`);
}
