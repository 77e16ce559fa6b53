# Helpers every folder uses, so each module's CMakeLists.txt stays a few lines long.

# -- What this configuration builds, said plainly at the end of configure -------------------------
set(EDGE_BUILT_PARTS "" CACHE INTERNAL "")
set(EDGE_SKIPPED_PARTS "" CACHE INTERNAL "")
function(edge_report_part name)
  set(EDGE_BUILT_PARTS "${EDGE_BUILT_PARTS} ${name}" CACHE INTERNAL "")
endfunction()
function(edge_report_skipped name why)
  set(EDGE_SKIPPED_PARTS "${EDGE_SKIPPED_PARTS}\n      - ${name}: ${why}" CACHE INTERNAL "")
endfunction()

# -- Warnings (errors by default) -----------------------------------------------------------------
add_library(edge_warnings INTERFACE)
target_compile_options(edge_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wcast-align -Wdouble-promotion -Wformat=2
  -Wimplicit-fallthrough -Wsign-conversion -Wconversion
  $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual>)
if(EDGE_WERROR)
  target_compile_options(edge_warnings INTERFACE -Werror)
endif()

# -- Code that runs on devices: no exceptions, no RTTI, no heap -----------------------------------
# drivers/, firmware/ and schemas/ link this on every target kind, so the host build proves the
# same constraints the Cortex-M build needs.
add_library(edge_embedded INTERFACE)
target_compile_options(edge_embedded INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-fno-exceptions -fno-rtti -fno-threadsafe-statics>)

if(EDGE_SANITIZE)
  # vptr checks need RTTI, which device code (edge_embedded) is built without.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize=vptr -fno-omit-frame-pointer
                      -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
if(EDGE_SANITIZE_THREAD)
  if(EDGE_SANITIZE)
    message(FATAL_ERROR "EDGE_SANITIZE_THREAD and EDGE_SANITIZE cannot be combined (TSan and ASan)")
  endif()
  # Uninstrumented libraries (Paho, libstdc++) synchronise where TSan cannot see; the host-tsan
  # test preset ignores what they do (ignore_noninstrumented_modules=1, docs/reliability.md).
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(EDGE_FUZZ)
  # libFuzzer (tests/fuzz): every library is compiled with coverage feedback and ASan + UBSan;
  # only the fuzz programs link libFuzzer's main (-fsanitize=fuzzer there). Clang only.
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "EDGE_FUZZ needs clang (Debian packages clang and libclang-rt-dev; "
                        "scripts/setup installs them), not ${CMAKE_CXX_COMPILER_ID}")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr
                      -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()

# -- FlatBuffers ----------------------------------------------------------------------------------
# flatc runs on the build machine; the runtime is header-only for what we use (builder, verifier),
# so a cross build takes just those headers: a folder holding a single link to them keeps the
# build machine's other /usr/include headers out of the target's include path.
find_program(EDGE_FLATC flatc REQUIRED
  DOC "FlatBuffers compiler (Debian package: flatbuffers-compiler)")
find_path(EDGE_FLATBUFFERS_HEADER_DIR flatbuffers/flatbuffers.h
  PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH REQUIRED
  DOC "FlatBuffers headers (Debian package: libflatbuffers-dev)")
set(_fb_shim "${CMAKE_BINARY_DIR}/flatbuffers-headers")
file(MAKE_DIRECTORY "${_fb_shim}")
file(CREATE_LINK "${EDGE_FLATBUFFERS_HEADER_DIR}/flatbuffers" "${_fb_shim}/flatbuffers" SYMBOLIC)
add_library(edge_flatbuffers INTERFACE)
target_include_directories(edge_flatbuffers SYSTEM INTERFACE "${_fb_shim}")
# The device never asserts through newlib's assert (which pulls in printf); the verifier's
# own checks are what guard untrusted input on every target.
if(EDGE_TARGET_KIND STREQUAL "mcu")
  # A function-style macro: CMake drops it from compile definitions, so it goes as an option.
  target_compile_options(edge_flatbuffers INTERFACE "-DFLATBUFFERS_ASSERT(x)=((void)0)")
endif()

# edge_flatbuffers_schema(<target> <fbs>... [INCLUDE_DIR dir]): generate C++ headers at build time
# into the build tree (never committed) and expose them through an INTERFACE library.
function(edge_flatbuffers_schema target)
  set(outputs)
  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/generated/edge/wire")
  foreach(fbs IN LISTS ARGN)
    get_filename_component(name "${fbs}" NAME_WE)
    set(out "${out_dir}/${name}_generated.h")
    add_custom_command(
      OUTPUT "${out}"
      COMMAND "${EDGE_FLATC}" --cpp --cpp-std c++17 --scoped-enums -o "${out_dir}"
              -I "${CMAKE_CURRENT_SOURCE_DIR}" "${CMAKE_CURRENT_SOURCE_DIR}/${fbs}"
      DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/${fbs}" ${ARGN}
      COMMENT "flatc ${fbs}"
      VERBATIM)
    list(APPEND outputs "${out}")
  endforeach()
  add_custom_target(${target}_gen DEPENDS ${outputs})
  add_library(${target} INTERFACE)
  add_dependencies(${target} ${target}_gen)
  target_include_directories(${target} SYSTEM INTERFACE "${CMAKE_CURRENT_BINARY_DIR}/generated")
  target_link_libraries(${target} INTERFACE edge_flatbuffers)
endfunction()

# -- Unit tests -----------------------------------------------------------------------------------
# host and linux-arm: GoogleTest. The host uses Debian's prebuilt libgtest; a cross build compiles
# Debian's GoogleTest sources (package googletest, /usr/src/googletest) with the target compiler.
# mcu: tests are target images run in qemu-system-arm (see boards/<board>/), not GoogleTest.
if(NOT EDGE_TARGET_KIND STREQUAL "mcu")
  if(CMAKE_CROSSCOMPILING)
    if(NOT EXISTS /usr/src/googletest/CMakeLists.txt)
      message(FATAL_ERROR "GoogleTest sources not found at /usr/src/googletest: "
                          "install Debian's 'googletest' package (scripts/setup does)")
    endif()
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    set(BUILD_GMOCK ON CACHE BOOL "" FORCE)
    add_subdirectory(/usr/src/googletest "${CMAKE_BINARY_DIR}/googletest" EXCLUDE_FROM_ALL SYSTEM)
    # googletest's own CMake defines the GTest:: aliases.
  else()
    find_package(GTest REQUIRED)
  endif()
  include(GoogleTest)
endif()

# edge_add_unit_test(<name> SOURCES <files...> LIBS <targets...>)
# Builds a GoogleTest executable beside the module and registers each TEST with ctest; cross
# builds run it through qemu-user via CMAKE_CROSSCOMPILING_EMULATOR.
function(edge_add_unit_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;LIBS" ${ARGN})
  if(EDGE_TARGET_KIND STREQUAL "mcu")
    return()
  endif()
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} GTest::gtest_main edge_warnings)
  target_compile_definitions(${name} PRIVATE
    EDGE_TESTDATA_DIR="${CMAKE_CURRENT_SOURCE_DIR}/testdata")
  # Discovery would run the binary at build time; under qemu-user that is slow, so list at test
  # time instead (PRE_TEST), which also keeps cross builds from needing the emulator to build.
  gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST DISCOVERY_TIMEOUT 60
                       PROPERTIES LABELS "unit")
endfunction()

# -- Firmware images ------------------------------------------------------------------------------
# edge_firmware_image(<name> SOURCES <files...> LIBS <targets...>)
# One program for the configured board: an ELF plus a raw .bin on a Cortex-M board (its size is
# printed after every link), a plain executable on Linux boards.
function(edge_firmware_image name)
  cmake_parse_arguments(arg "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${arg_LIBS} edge_board edge_embedded edge_warnings)
  if(EDGE_TARGET_KIND STREQUAL "mcu")
    set_target_properties(${name} PROPERTIES SUFFIX ".elf")
    target_link_options(${name} PRIVATE "-Wl,-Map=$<TARGET_FILE_DIR:${name}>/${name}.map")
    add_custom_command(TARGET ${name} POST_BUILD
      COMMAND "${CMAKE_OBJCOPY}" -O binary "$<TARGET_FILE:${name}>"
              "$<TARGET_FILE_DIR:${name}>/${name}.bin"
      COMMAND "${CMAKE_SIZE}" "$<TARGET_FILE:${name}>"
      VERBATIM)
  endif()
endfunction()

# edge_add_target_test(<name> SOURCES <files...> LIBS <targets...>)
# A test program that runs on the board itself: under qemu-system-arm on a Cortex-M board
# (semihosting carries its output and exit status), under qemu-user on ARM Linux, natively on
# the host. Uses the small harness in firmware/testing (no GoogleTest on a microcontroller).
# A board with nothing to run them on (real hardware, no emulator) sets
# EDGE_BOARD_RUNS_TARGET_TESTS to OFF in its board.cmake: the image is still built, so it keeps
# compiling and linking, but no test is registered.
function(edge_add_target_test name)
  cmake_parse_arguments(arg "" "" "SOURCES;LIBS" ${ARGN})
  edge_firmware_image(${name} SOURCES ${arg_SOURCES} LIBS ${arg_LIBS} edge_target_test)
  if(DEFINED EDGE_BOARD_RUNS_TARGET_TESTS AND NOT EDGE_BOARD_RUNS_TARGET_TESTS)
    return()
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "target" TIMEOUT 120
                       FAIL_REGULAR_EXPRESSION "FAILED")
endfunction()
