# Cortex-M bare metal: Debian's GNU Arm Embedded toolchain with newlib.
# The only place that knows this compiler. The board (boards/<board>/board.cmake) adds the CPU
# flags, linker script and startup code; this file only finds the tools.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

find_program(EDGE_ARM_NONE_EABI_GCC arm-none-eabi-gcc)
find_program(EDGE_ARM_NONE_EABI_GXX arm-none-eabi-g++)
if(NOT EDGE_ARM_NONE_EABI_GCC OR NOT EDGE_ARM_NONE_EABI_GXX)
  message(FATAL_ERROR
    "arm-none-eabi-gcc/g++ not found. Install Debian's packages: "
    "gcc-arm-none-eabi libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib "
    "(scripts/setup installs them).")
endif()
if(NOT EXISTS /usr/lib/arm-none-eabi/include/c++)
  message(FATAL_ERROR
    "C++ headers for arm-none-eabi not found. Install Debian's package: "
    "libstdc++-arm-none-eabi-newlib (scripts/setup installs it).")
endif()

set(CMAKE_C_COMPILER "${EDGE_ARM_NONE_EABI_GCC}")
set(CMAKE_CXX_COMPILER "${EDGE_ARM_NONE_EABI_GXX}")
set(CMAKE_ASM_COMPILER "${EDGE_ARM_NONE_EABI_GCC}")
find_program(CMAKE_OBJCOPY arm-none-eabi-objcopy REQUIRED)
find_program(CMAKE_SIZE arm-none-eabi-size REQUIRED)

# Compiler checks cannot link a bare-metal program without a board's startup code.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
