# test_package.cmake — builds and runs the consumer in tests/package against ptp, the way
# a user would get it. Run by CTest as `cmake -P` (tests/static/CMakeLists.txt):
#
#   -DPTP_MODE=package           install PTP_BUILD_DIR into a fresh prefix, then
#                                find_package(ptp CONFIG REQUIRED COMPONENTS <adapters>);
#                                also checks every header was installed, that the
#                                installed files never point back into the source tree,
#                                and that asking for a missing component fails
#             subdirectory       add_subdirectory(<source>)
#             fetchcontent       FetchContent_Declare(ptp SOURCE_DIR <source>)
#             fetchcontent_url   FetchContent_Declare(ptp URL file://<archive of source>)
#   -DPTP_SOURCE_DIR, -DPTP_BUILD_DIR, -DPTP_WORK_DIR (wiped first), -DPTP_CONFIG
#   -DPTP_SETTINGS=<file>        the parent build's compiler, generator, prefix path and
#                                dependency locations (written by tests/static at configure)
cmake_minimum_required(VERSION 3.23)

foreach(v PTP_MODE PTP_SOURCE_DIR PTP_WORK_DIR PTP_SETTINGS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "package_test: ${v} is not set")
  endif()
endforeach()
if(NOT PTP_CONFIG)
  set(PTP_CONFIG Release)
endif()
include(${PTP_SETTINGS})   # PTP_PARENT_GENERATOR, PTP_PARENT_PREFIX_PATH, PTP_EXPECT_ADAPTERS,
                           # PTP_PARENT_NAMES + PTP_PARENT_VALUE_<name> (the parent's cache)

file(REMOVE_RECURSE ${PTP_WORK_DIR})
file(MAKE_DIRECTORY ${PTP_WORK_DIR})

function(run_step what)
  cmake_parse_arguments(S "EXPECT_FAIL" "EXPECT_OUTPUT" "COMMAND" ${ARGN})
  message(STATUS "package_test [${PTP_MODE}] ${what}")
  execute_process(COMMAND ${S_COMMAND} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  WORKING_DIRECTORY ${PTP_WORK_DIR})
  if(S_EXPECT_FAIL)
    if(rc EQUAL 0)
      message(FATAL_ERROR "package_test [${PTP_MODE}] ${what}: succeeded but should have failed\n${out}\n${err}")
    endif()
    if(DEFINED S_EXPECT_OUTPUT AND NOT "${out}${err}" MATCHES "${S_EXPECT_OUTPUT}")
      message(FATAL_ERROR "package_test [${PTP_MODE}] ${what}: failed, but without '${S_EXPECT_OUTPUT}':\n${out}\n${err}")
    endif()
  elseif(NOT rc EQUAL 0)
    message(FATAL_ERROR "package_test [${PTP_MODE}] ${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}${err}" PARENT_SCOPE)
endfunction()

# ---- how the consumer gets ptp ----------------------------------------------------------
set(prefix_path ${PTP_PARENT_PREFIX_PATH})
set(consume ${PTP_MODE})
set(components "")
if(PTP_MODE STREQUAL "package")
  if(NOT DEFINED PTP_BUILD_DIR)
    message(FATAL_ERROR "package_test: PTP_BUILD_DIR is not set")
  endif()
  set(prefix ${PTP_WORK_DIR}/prefix)
  run_step("install" COMMAND ${CMAKE_COMMAND} --install ${PTP_BUILD_DIR} --prefix ${prefix} --config ${PTP_CONFIG})

  # Every public header (the FILE_SETs) arrived, core and adapters alike.
  file(GLOB_RECURSE headers RELATIVE ${PTP_SOURCE_DIR}/include ${PTP_SOURCE_DIR}/include/*.hpp)
  foreach(a IN LISTS PTP_EXPECT_ADAPTERS)
    file(GLOB_RECURSE more RELATIVE ${PTP_SOURCE_DIR}/adapters/${a}/include
         ${PTP_SOURCE_DIR}/adapters/${a}/include/*.hpp)
    list(APPEND headers ${more})
  endforeach()
  set(missing "")
  foreach(h IN LISTS headers)
    if(NOT EXISTS ${prefix}/include/${h})
      list(APPEND missing ${h})
    endif()
  endforeach()
  if(missing)
    message(FATAL_ERROR "package_test: headers not installed (stale build tree? re-run cmake): ${missing}")
  endif()
  list(LENGTH headers n_headers)
  message(STATUS "package_test [package] ${n_headers} headers installed")

  # Nothing installed may point back into the source or build tree.
  file(GLOB_RECURSE cmake_files ${prefix}/*.cmake)
  if(NOT cmake_files)
    message(FATAL_ERROR "package_test: no CMake package files under ${prefix}")
  endif()
  foreach(f IN LISTS cmake_files)
    file(READ ${f} text)
    foreach(tree IN ITEMS "${PTP_SOURCE_DIR}" "${PTP_BUILD_DIR}")
      string(FIND "${text}" "${tree}" at)
      if(NOT at EQUAL -1)
        message(FATAL_ERROR "package_test: ${f} refers to ${tree}")
      endif()
    endforeach()
  endforeach()

  list(PREPEND prefix_path ${prefix})
  set(components ${PTP_EXPECT_ADAPTERS})
elseif(PTP_MODE STREQUAL "fetchcontent_url")
  # An archive of what a release tarball would hold (no tests/, examples/ or bench/):
  # consuming ptp must not need them.
  # Every part is tracked: tar fails (and the test with it) when one is missing.
  set(parts CMakeLists.txt LICENSE cmake include adapters)
  set(archive ${PTP_WORK_DIR}/ptp-src.tar.gz)
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf ${archive} -- ${parts}
                  WORKING_DIRECTORY ${PTP_SOURCE_DIR} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "package_test: could not archive ${PTP_SOURCE_DIR}")
  endif()
  set(consume fetchcontent)
elseif(NOT PTP_MODE MATCHES "^(subdirectory|fetchcontent)$")
  message(FATAL_ERROR "package_test: unknown PTP_MODE '${PTP_MODE}'")
endif()

# ---- the consumer's initial cache: the parent's toolchain + how to get ptp ---------------
function(write_cache file comps)
  set(text "")
  foreach(name IN LISTS PTP_PARENT_NAMES)
    string(APPEND text "set(${name} [==[${PTP_PARENT_VALUE_${name}}]==] CACHE STRING \"\")\n")
  endforeach()
  string(APPEND text "set(CMAKE_BUILD_TYPE [==[${PTP_CONFIG}]==] CACHE STRING \"\")\n")
  string(APPEND text "set(CMAKE_PREFIX_PATH [==[${prefix_path}]==] CACHE STRING \"\")\n")
  string(APPEND text "set(PTP_CONSUME ${consume} CACHE STRING \"\")\n")
  string(APPEND text "set(PTP_SOURCE [==[${PTP_SOURCE_DIR}]==] CACHE PATH \"\")\n")
  if(DEFINED archive)
    string(APPEND text "set(PTP_URL [==[file://${archive}]==] CACHE STRING \"\")\n")
  endif()
  string(APPEND text "set(PTP_COMPONENTS [==[${comps}]==] CACHE STRING \"\")\n")
  string(APPEND text "set(PTP_EXPECT_ADAPTERS [==[${PTP_EXPECT_ADAPTERS}]==] CACHE STRING \"\")\n")
  string(APPEND text "set(PTP_CONSUMER_TORCH ${consumer_torch} CACHE BOOL \"\")\n")
  # FetchContent must never reach the network.
  string(APPEND text "set(FETCHCONTENT_UPDATES_DISCONNECTED ON CACHE BOOL \"\")\n")
  file(WRITE ${file} "${text}")
endfunction()

# The LibTorch consumer compiles slowly: build it where consumption differs (installed
# config, add_subdirectory); FetchContent is add_subdirectory once more.
if(PTP_MODE MATCHES "^(package|subdirectory)$" AND "torch" IN_LIST PTP_EXPECT_ADAPTERS)
  set(consumer_torch ON)
else()
  set(consumer_torch OFF)
endif()
set(consumer_src ${PTP_SOURCE_DIR}/tests/package)
write_cache(${PTP_WORK_DIR}/consumer-cache.cmake "${components}")
set(generator_args -G "${PTP_PARENT_GENERATOR}")

run_step("configure" COMMAND ${CMAKE_COMMAND} ${generator_args} -C ${PTP_WORK_DIR}/consumer-cache.cmake
         -S ${consumer_src} -B ${PTP_WORK_DIR}/consumer)
if(PTP_MODE STREQUAL "package")
  string(REGEX MATCH "consumer: ptp [^\n]* from [^\n]*" found "${step_output}")
  message(STATUS "package_test [package] ${found}")
  string(FIND "${found}" "from ${prefix}/" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "package_test: find_package(ptp) did not pick the fresh prefix ${prefix}: ${found}")
  endif()
endif()
run_step("build" COMMAND ${CMAKE_COMMAND} --build ${PTP_WORK_DIR}/consumer --config ${PTP_CONFIG})

# Run each consumer program built: ptp_consumer always, ptp_consumer_torch with ptp::torch.
foreach(program IN ITEMS ptp_consumer ptp_consumer_torch)
  file(GLOB_RECURSE exe LIST_DIRECTORIES false ${PTP_WORK_DIR}/consumer/${program} ${PTP_WORK_DIR}/consumer/${program}.exe)
  if(NOT exe)
    if(program STREQUAL "ptp_consumer" OR consumer_torch)
      message(FATAL_ERROR "package_test: ${program} was not built")
    endif()
    continue()
  endif()
  list(GET exe 0 exe)
  run_step("run ${program}" COMMAND ${exe})
  message(STATUS "${step_output}")
  if(NOT step_output MATCHES "all checks passed")
    message(FATAL_ERROR "package_test: ${program} did not report success")
  endif()
endforeach()

# ---- an adapter the tree lacks, asked for as a component, fails find_package clearly -----
if(PTP_MODE STREQUAL "package")
  write_cache(${PTP_WORK_DIR}/missing-cache.cmake "no_such_adapter")
  run_step("find_package(ptp COMPONENTS no_such_adapter) fails" EXPECT_FAIL
           EXPECT_OUTPUT "installed without the adapter 'no_such_adapter'"
           COMMAND ${CMAKE_COMMAND} ${generator_args} -C ${PTP_WORK_DIR}/missing-cache.cmake
                   -S ${consumer_src} -B ${PTP_WORK_DIR}/consumer-missing)
endif()
message(STATUS "package_test [${PTP_MODE}] passed")
