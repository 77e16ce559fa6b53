#!/usr/bin/env bash
# Each toolchain file must stop configure with a message that names the Debian package to install
# when its compiler is missing (simulated by hiding every system bin folder from CMake).
set -u
source_dir=$1
cmake=$2
fail=0
check() {
  local toolchain=$1 package=$2
  local dir
  dir=$(mktemp -d)
  local out
  out=$(env PATH=/nonexistent "$cmake" -S "$source_dir" -B "$dir" -G "Unix Makefiles" \
        -DCMAKE_MAKE_PROGRAM=/usr/bin/make \
        "-DCMAKE_IGNORE_PATH=/usr/bin;/bin;/usr/local/bin;/usr/sbin;/sbin" \
        -DCMAKE_TOOLCHAIN_FILE="$source_dir/toolchains/$toolchain" 2>&1)
  local status=$?
  rm -rf "$dir"
  if [ $status -eq 0 ]; then
    echo "FAIL $toolchain: configure succeeded without a compiler"; fail=1
  elif ! grep -q "Install Debian's package" <<<"$out" || ! grep -q "$package" <<<"$out"; then
    echo "FAIL $toolchain: message does not name $package:"; echo "$out" | head -8; fail=1
  else
    echo "ok   $toolchain: refuses and names $package"
  fi
}
check arm-none-eabi.cmake gcc-arm-none-eabi
check aarch64-linux-gnu.cmake g++-aarch64-linux-gnu
check arm-linux-gnueabihf.cmake g++-arm-linux-gnueabihf
exit $fail
