include(${CMAKE_CURRENT_LIST_DIR}/../common/posix/board.cmake)
