# 32-bit Arm Linux boards with hard float (Raspberry Pi OS 32-bit, BeagleBone, i.MX6/7):
# Debian's g++-arm-linux-gnueabihf.
set(EDGE_TRIPLE arm-linux-gnueabihf)
set(EDGE_PROCESSOR armv7l)
set(EDGE_DEBIAN_ARCH armhf)
set(EDGE_QEMU qemu-arm)
set(EDGE_GXX_PACKAGE g++-arm-linux-gnueabihf)
include(${CMAKE_CURRENT_LIST_DIR}/linux-gnu-cross.cmake)
