# Shared body of the Linux cross toolchain files; they set EDGE_TRIPLE, EDGE_PROCESSOR,
# EDGE_DEBIAN_ARCH, EDGE_QEMU and EDGE_GXX_PACKAGE, then include this. Not a toolchain file on its own.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${EDGE_PROCESSOR})

find_program(EDGE_CROSS_GCC ${EDGE_TRIPLE}-gcc)
find_program(EDGE_CROSS_GXX ${EDGE_TRIPLE}-g++)
if(NOT EDGE_CROSS_GCC OR NOT EDGE_CROSS_GXX)
  message(FATAL_ERROR
    "${EDGE_TRIPLE}-gcc/g++ not found. Install Debian's package: ${EDGE_GXX_PACKAGE} "
    "(scripts/setup installs it).")
endif()
set(CMAKE_C_COMPILER "${EDGE_CROSS_GCC}")
set(CMAKE_CXX_COMPILER "${EDGE_CROSS_GXX}")

# Unit tests run through qemu-user with the cross C library as its root.
find_program(EDGE_QEMU_USER ${EDGE_QEMU})
if(NOT EDGE_QEMU_USER)
  message(FATAL_ERROR
    "${EDGE_QEMU} not found: cross-built tests run under qemu-user. Install Debian's package: "
    "qemu-user (scripts/setup installs it).")
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR "${EDGE_QEMU_USER};-L;/usr/${EDGE_TRIPLE}")

# Target libraries: the cross sysroot, plus Debian multiarch (/usr/lib/<triple>) where
# `scripts/setup --cross` installed packages such as liblmdb-dev:arm64.
set(CMAKE_FIND_ROOT_PATH /usr/${EDGE_TRIPLE})
set(CMAKE_LIBRARY_ARCHITECTURE ${EDGE_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
set(CMAKE_PREFIX_PATH /usr/lib/${EDGE_TRIPLE}/cmake)
