# Boards are data: boards/<board>/board.json states the hardware, and this file turns the parts
# the code needs into generated headers, so no source file carries a board's sensor list.

# edge_board_sensor_table(<target> <board.json>)
# Generates edge/board/board_sensors.h for <target> (PUBLIC include): a constexpr
# std::array<edge::firmware::SensorSpec, N> kSensors listing every I2C device of the board that
# has a driver (entries with a "role", like the config EEPROM, are the board's own business), in
# board.json order: bus index, chip, address and driver options. A chip with no driver, a
# missing address or an unknown option stops configure, naming the file and the entry.
function(edge_board_sensor_table target board_json)
  file(READ "${board_json}" _json)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${board_json}")
  set(_entries "")
  set(_count 0)
  string(JSON _buses ERROR_VARIABLE _no_i2c GET "${_json}" i2c)
  if(NOT _no_i2c)
    string(JSON _nbus LENGTH "${_buses}")
    math(EXPR _last_bus "${_nbus} - 1")
    foreach(b RANGE ${_last_bus})
      if(_nbus EQUAL 0)
        break()
      endif()
      string(JSON _bus_name MEMBER "${_buses}" ${b})
      if(NOT _bus_name MATCHES "^bus([0-9]+)$")
        message(FATAL_ERROR "${board_json}: i2c.${_bus_name}: bus names are bus0, bus1, ...")
      endif()
      set(_bus_index "${CMAKE_MATCH_1}")
      string(JSON _devices ERROR_VARIABLE _no_devices GET "${_buses}" ${_bus_name} devices)
      if(_no_devices)
        continue()
      endif()
      string(JSON _ndev LENGTH "${_devices}")
      if(_ndev EQUAL 0)
        continue()
      endif()
      math(EXPR _last_dev "${_ndev} - 1")
      foreach(d RANGE ${_last_dev})
        set(_where "${board_json}: i2c.${_bus_name}.devices[${d}]")
        string(JSON _role ERROR_VARIABLE _no_role GET "${_devices}" ${d} role)
        if(NOT _no_role)
          continue()
        endif()
        string(JSON _chip ERROR_VARIABLE _err GET "${_devices}" ${d} chip)
        if(_err)
          message(FATAL_ERROR "${_where}: \"chip\" is missing")
        endif()
        string(JSON _address ERROR_VARIABLE _err GET "${_devices}" ${d} address)
        if(_err OR NOT _address MATCHES "^0x[0-7][0-9a-fA-F]$")
          message(FATAL_ERROR "${_where}: \"address\" must be a 7-bit address like \"0x48\"")
        endif()
        if(_chip STREQUAL "tmp105")
          set(_enum kTmp105)
        elseif(_chip STREQUAL "dps310")
          set(_enum kDps310)
        elseif(_chip STREQUAL "lsm303dlhc_mag")
          set(_enum kLsm303dlhc)
        elseif(_chip STREQUAL "sht3x")
          set(_enum kSht3x)
        elseif(_chip STREQUAL "bme280")
          set(_enum kBme280)
        else()
          message(FATAL_ERROR "${_where}: chip \"${_chip}\" has no driver (drivers/ has tmp105, "
                              "dps310, lsm303dlhc_mag, sht3x, bme280)")
        endif()
        set(_option kNone)
        string(JSON _opt ERROR_VARIABLE _no_opt GET "${_devices}" ${d} options)
        if(NOT _no_opt AND NOT _opt STREQUAL "")
          if(_opt STREQUAL "temp-right-aligned")
            set(_option kTempRightAligned)
          else()
            message(FATAL_ERROR "${_where}: unknown \"options\" value \"${_opt}\" "
                                "(known: temp-right-aligned)")
          endif()
        endif()
        string(APPEND _entries
          "    SensorSpec{SensorChip::${_enum}, ${_bus_index}, ${_address}, SensorOption::${_option}},  // ${_chip}\n")
        math(EXPR _count "${_count} + 1")
      endforeach()
    endforeach()
  endif()

  set(_dir "${CMAKE_CURRENT_BINARY_DIR}/generated-board")
  file(CONFIGURE OUTPUT "${_dir}/edge/board/board_sensors.h" CONTENT
"// Generated from ${board_json} by scripts/cmake/EdgeBoard.cmake: do not edit.
#pragma once

#include <array>

#include \"edge/firmware/sensor_set.h\"

namespace edge::board {

using firmware::SensorChip;
using firmware::SensorOption;
using firmware::SensorSpec;

inline constexpr std::array<SensorSpec, ${_count}> kSensors{{
${_entries}}};

}  // namespace edge::board
")
  target_include_directories(${target} PUBLIC "${_dir}")
  target_link_libraries(${target} PUBLIC edge_sensor_sources)
endfunction()
