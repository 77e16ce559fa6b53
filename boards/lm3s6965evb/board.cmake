# LM3S6965 (Cortex-M3): compile and link flags for every target in this configuration, read
# from board.json so the descriptor is the one place that states the hardware.
file(READ "${CMAKE_CURRENT_LIST_DIR}/board.json" _board_json)
string(JSON EDGE_BOARD_CPU GET "${_board_json}" cpu)
string(JSON EDGE_FLASH_ORIGIN GET "${_board_json}" memory flash origin)
string(JSON EDGE_FLASH_LENGTH GET "${_board_json}" memory flash length)
string(JSON EDGE_RAM_ORIGIN GET "${_board_json}" memory ram origin)
string(JSON EDGE_RAM_LENGTH GET "${_board_json}" memory ram length)
string(JSON EDGE_BOARD_QEMU_MACHINE GET "${_board_json}" qemu machine)
string(JSON _qemu_args GET "${_board_json}" qemu args)
set(EDGE_BOARD_QEMU_ARGS)
string(JSON _n LENGTH "${_qemu_args}")
math(EXPR _last "${_n} - 1")
foreach(i RANGE ${_last})
  string(JSON _arg GET "${_qemu_args}" ${i})
  list(APPEND EDGE_BOARD_QEMU_ARGS "${_arg}")
endforeach()

# The QEMU board's I2C devices, as board.json lists them (QEMU models them on the I2C0 bus).
string(JSON _devices GET "${_board_json}" i2c bus0 devices)
string(JSON _n LENGTH "${_devices}")
math(EXPR _last "${_n} - 1")
foreach(i RANGE ${_last})
  string(JSON _qdev GET "${_devices}" ${i} qemu_device)
  string(JSON _addr GET "${_devices}" ${i} address)
  string(JSON _props GET "${_devices}" ${i} qemu_props)
  set(_device "${_qdev},address=${_addr}")
  if(NOT _props STREQUAL "")
    string(APPEND _device ",${_props}")
  endif()
  list(APPEND EDGE_BOARD_QEMU_ARGS "-device" "${_device}")
endforeach()

add_compile_options(-mcpu=${EDGE_BOARD_CPU} -mthumb -ffunction-sections -fdata-sections)
add_link_options(-mcpu=${EDGE_BOARD_CPU} -mthumb -specs=nano.specs -nostartfiles
                 -Wl,--gc-sections -Wl,--print-memory-usage)

configure_file("${CMAKE_CURRENT_LIST_DIR}/lm3s6965.ld.in" "${CMAKE_BINARY_DIR}/lm3s6965.ld" @ONLY)
set(EDGE_BOARD_LINKER_SCRIPT "${CMAKE_BINARY_DIR}/lm3s6965.ld")

# Target images run in QEMU: ctest hands the ELF to this command (semihosting gives the exit
# code; serial ports are not connected unless a test says so).
find_program(EDGE_QEMU_SYSTEM_ARM qemu-system-arm)
if(NOT EDGE_QEMU_SYSTEM_ARM)
  message(FATAL_ERROR "qemu-system-arm not found: the ${EDGE_BOARD} target tests run in it. "
                      "Install Debian's package: qemu-system-arm (scripts/setup installs it).")
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR
    "${EDGE_QEMU_SYSTEM_ARM};-M;${EDGE_BOARD_QEMU_MACHINE};${EDGE_BOARD_QEMU_ARGS};-serial;null;-serial;null;-kernel")
