# 64-bit Arm Linux boards (Raspberry Pi 4/5, i.MX8, ...): Debian's g++-aarch64-linux-gnu.
set(EDGE_TRIPLE aarch64-linux-gnu)
set(EDGE_PROCESSOR aarch64)
set(EDGE_DEBIAN_ARCH arm64)
set(EDGE_QEMU qemu-aarch64)
set(EDGE_GXX_PACKAGE g++-aarch64-linux-gnu)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
