# Linux boards (host-sim, linux-arm): ordinary executables; images are run by ctest directly
# (host) or through qemu-user (cross, set by the toolchain file).
set(EDGE_BOARD_POSIX ON)
