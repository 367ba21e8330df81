# test_compile_fail.cmake — one compile-fail case (see tests/static/CMakeLists.txt):
#   cmake -DPTP_BUILD_DIR=… -DPTP_CONFIG=… -DPTP_SOURCE=<case.cpp>
#         -DPTP_CONTROL_TARGET=… -DPTP_FAIL_TARGET=… -P test_compile_fail.cmake
# Passes when the control (PTP_COMPILE_FAIL=0) builds, the case (PTP_COMPILE_FAIL=1) does
# not, and the case's diagnostics match the regex on its first line `// expect: <regex>`
# (and those of any `// expect:` lines right after it: all must match, in any order).
# The regex is matched against the compiler's output only: build-tool lines are dropped and
# the case's file name is replaced by <case>, so a different error cannot pass by
# echoing the file name, the target name or the command line.
cmake_minimum_required(VERSION 3.23)
foreach(v PTP_BUILD_DIR PTP_SOURCE PTP_CONTROL_TARGET PTP_FAIL_TARGET)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "compile_fail_test: ${v} is not set")
  endif()
endforeach()
if(NOT PTP_CONFIG)
  set(PTP_CONFIG Release)
endif()

file(STRINGS ${PTP_SOURCE} head LIMIT_COUNT 8)
set(expects "")
foreach(line IN LISTS head)
  if(NOT line MATCHES "^// expect: (.+)$")
    break()
  endif()
  list(APPEND expects "${CMAKE_MATCH_1}")
endforeach()
if(NOT expects)
  message(FATAL_ERROR "${PTP_SOURCE}: the first line must be `// expect: <regex>`")
endif()
get_filename_component(case ${PTP_SOURCE} NAME_WE)

function(build target)
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${PTP_BUILD_DIR} --target ${target} --config ${PTP_CONFIG}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(rc ${rc} PARENT_SCOPE)
  set(out "${out}${err}" PARENT_SCOPE)
endfunction()

# 1. The control must compile: everything but the guarded code is sound.
build(${PTP_CONTROL_TARGET})
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compile_fail [${case}]: the control (PTP_COMPILE_FAIL=0) does not compile:\n${out}")
endif()

# 2. The case must not compile.
build(${PTP_FAIL_TARGET})
if(rc EQUAL 0)
  message(FATAL_ERROR "compile_fail [${case}]: compiled, but must fail with: ${expect}")
endif()

# 3. …for the promised reason.
string(REPLACE ";" "\\;" out "${out}")   # keep semicolons inside lines
string(REPLACE "\n" ";" lines "${out}")
set(diagnostics "")
foreach(line IN LISTS lines)
  if(line MATCHES "^\\[ *[0-9]+%\\]"                        # make progress
     OR line MATCHES "^g?make(\\[[0-9]+\\])?: "              # make
     OR line MATCHES "^(ninja: |FAILED: |\\[[0-9]+/[0-9]+\\] )"  # ninja
     OR line MATCHES "^[^ ]*(c\\+\\+|g\\+\\+|clang\\+\\+|cl\\.exe|ccache)[^ ]* .*-c ")  # a command line
    continue()
  endif()
  string(REPLACE "${PTP_SOURCE}" "<case>" line "${line}")
  string(REPLACE "${case}.cpp" "<case>" line "${line}")
  string(REPLACE "${case}" "<case>" line "${line}")
  string(APPEND diagnostics "${line}\n")
endforeach()

if(NOT diagnostics MATCHES "error")
  message(FATAL_ERROR "compile_fail [${case}]: the build failed without a compiler error:\n${out}")
endif()
foreach(expect IN LISTS expects)
  if(NOT diagnostics MATCHES "${expect}")
    message(FATAL_ERROR "compile_fail [${case}]: failed, but not with /${expect}/ -- diagnostics:\n${diagnostics}")
  endif()
  message(STATUS "compile_fail [${case}]: failed as promised (/${expect}/)")
endforeach()
