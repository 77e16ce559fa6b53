# NUCLEO-F401RE (STM32F401RE, Cortex-M4F): compile and link flags for every target in this
# configuration, read from board.json so the descriptor is the one place that states the hardware.
file(READ "${CMAKE_CURRENT_LIST_DIR}/board.json" _board_json)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${CMAKE_CURRENT_LIST_DIR}/board.json")
string(JSON EDGE_BOARD_CPU GET "${_board_json}" cpu)
string(JSON EDGE_BOARD_FLOAT_ABI GET "${_board_json}" float_abi)
string(JSON EDGE_BOARD_FPU GET "${_board_json}" fpu)
string(JSON EDGE_BOARD_CLOCK_HZ GET "${_board_json}" clock_hz)
string(JSON EDGE_FLASH_ORIGIN GET "${_board_json}" memory flash origin)
string(JSON EDGE_FLASH_LENGTH GET "${_board_json}" memory flash length)
string(JSON EDGE_RAM_ORIGIN GET "${_board_json}" memory ram origin)
string(JSON EDGE_RAM_LENGTH GET "${_board_json}" memory ram length)
string(JSON EDGE_CONFIG_KIND GET "${_board_json}" config_store kind)
string(JSON EDGE_CONFIG_SECTOR_A GET "${_board_json}" config_store sectors 0)
string(JSON EDGE_CONFIG_SECTOR_B GET "${_board_json}" config_store sectors 1)
string(JSON EDGE_CONFIG_ORIGIN GET "${_board_json}" config_store origin)
string(JSON EDGE_CONFIG_LENGTH GET "${_board_json}" config_store length)
string(JSON EDGE_BOARD_FLASH_METHOD GET "${_board_json}" flash method)
string(JSON EDGE_BOARD_OPENOCD_CONFIG GET "${_board_json}" flash config)

# "256K" -> 262144, "0x08040000" -> 134479872: so the regions can be checked against each other.
function(_edge_bytes out text)
  if(text MATCHES "^([0-9]+)K$")
    math(EXPR _v "${CMAKE_MATCH_1} * 1024")
  elseif(text MATCHES "^(0x[0-9a-fA-F]+|[0-9]+)$")
    math(EXPR _v "${text}")
  else()
    message(FATAL_ERROR "boards/${EDGE_BOARD}/board.json: \"${text}\" is not a size or address")
  endif()
  set(${out} ${_v} PARENT_SCOPE)
endfunction()
_edge_bytes(_flash_origin "${EDGE_FLASH_ORIGIN}")
_edge_bytes(_flash_length "${EDGE_FLASH_LENGTH}")
_edge_bytes(_config_origin "${EDGE_CONFIG_ORIGIN}")
_edge_bytes(_config_length "${EDGE_CONFIG_LENGTH}")
math(EXPR _flash_end "${_flash_origin} + ${_flash_length}")
if(NOT EDGE_CONFIG_KIND STREQUAL "flash" OR _flash_end GREATER _config_origin)
  message(FATAL_ERROR "boards/${EDGE_BOARD}/board.json: the code region (memory.flash) must end "
                      "before the flash config_store sectors begin (${EDGE_CONFIG_ORIGIN})")
endif()

add_compile_options(-mcpu=${EDGE_BOARD_CPU} -mthumb -mfloat-abi=${EDGE_BOARD_FLOAT_ABI}
                    -mfpu=${EDGE_BOARD_FPU} -ffunction-sections -fdata-sections)
add_link_options(-mcpu=${EDGE_BOARD_CPU} -mthumb -mfloat-abi=${EDGE_BOARD_FLOAT_ABI}
                 -mfpu=${EDGE_BOARD_FPU} -specs=nano.specs -nostartfiles
                 -Wl,--gc-sections -Wl,--print-memory-usage)

configure_file("${CMAKE_CURRENT_LIST_DIR}/stm32f401re.ld.in" "${CMAKE_BINARY_DIR}/stm32f401re.ld" @ONLY)
set(EDGE_BOARD_LINKER_SCRIPT "${CMAKE_BINARY_DIR}/stm32f401re.ld")

# No emulator models this board: on-target test images are built (so they keep linking) but not
# registered with ctest (scripts/cmake/EdgeTargets.cmake, edge_add_target_test). This board's
# ctest checks are the image and OpenOCD checks in boards/nucleo-f401re/CMakeLists.txt.
set(EDGE_BOARD_RUNS_TARGET_TESTS OFF)
