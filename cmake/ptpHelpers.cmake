# ptp_add_adapter(<name> [<dependency targets...>]
#                 [PACKAGE <find_package arguments...>]
#                 [PACKAGE_CODE <cmake code>])
# One INTERFACE target ptp::<name> per backend, headers under adapters/<name>/include.
#
# How an installed ptp finds the adapter's dependency again (ptpConfig.cmake):
#   PACKAGE       the arguments of the find_package call that found it here, e.g.
#                 `PACKAGE Eigen3 3.3 NO_MODULE`; the first one is the package name.
#   PACKAGE_CODE  for dependencies without a CMake package (pkg-config): code run by the
#                 config that sets `_ptp_dep_found` and may use `${_ptp_quiet}` (QUIET
#                 unless the adapter was asked for as a component).
# Each adapter is exported on its own (ptp_<name>Targets.cmake), so a consumer that lacks
# one adapter's dependency (Torch, say) can still use the core and the other adapters.
function(ptp_add_adapter name)
  cmake_parse_arguments(A "" "PACKAGE_CODE" "PACKAGE" ${ARGN})
  add_library(ptp_${name} INTERFACE)
  add_library(ptp::${name} ALIAS ptp_${name})
  set_target_properties(ptp_${name} PROPERTIES EXPORT_NAME ${name})
  file(GLOB_RECURSE _hdrs CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/adapters/${name}/include/*.hpp)
  target_sources(ptp_${name} INTERFACE FILE_SET HEADERS
                 BASE_DIRS ${PROJECT_SOURCE_DIR}/adapters/${name}/include FILES ${_hdrs})
  target_link_libraries(ptp_${name} INTERFACE ptp::ptp ${A_UNPARSED_ARGUMENTS})

  if(A_PACKAGE)
    list(GET A_PACKAGE 0 _pkg)
    list(JOIN A_PACKAGE " " _args)
    set(_code "find_package(${_args} \${_ptp_quiet})\nset(_ptp_dep_found \"\${${_pkg}_FOUND}\")")
  elseif(DEFINED A_PACKAGE_CODE)
    set(_code "${A_PACKAGE_CODE}")
  else()
    set(_code "set(_ptp_dep_found TRUE)")
  endif()
  set_property(GLOBAL PROPERTY PTP_ADAPTER_CONFIG_CODE_${name} "${_code}")

  set(PTP_ADAPTERS ${PTP_ADAPTERS} ${name} PARENT_SCOPE)
  set(_ptp_installed_targets ${_ptp_installed_targets} ptp_${name} PARENT_SCOPE)
endfunction()

# ptp_package_adapters_code(<out-var> <adapters...>)
# The ptpConfig.cmake fragment that loads each installed adapter (used by the install rules).
function(ptp_package_adapters_code out)
  set(_text "")
  foreach(a IN LISTS ARGN)
    get_property(_code GLOBAL PROPERTY PTP_ADAPTER_CONFIG_CODE_${a})
    if(NOT DEFINED _code OR _code STREQUAL "")
      set(_code "set(_ptp_dep_found TRUE)")
    endif()
    string(APPEND _text "# ---- adapter ${a}\n_ptp_adapter_begin(${a})\n${_code}\n_ptp_adapter_end(${a})\n")
  endforeach()
  set(${out} "${_text}" PARENT_SCOPE)
endfunction()

# ptp_add_test(<name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>])
# One Catch2 executable registered with CTest; the shared main lives in ptp_catch_main.
function(ptp_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ptp_catch_main ${T_LIBS})
  # Option structs are meant to be filled by designated initializers that leave the rest at
  # their defaults; GCC 12's -Wextra flags every such omission, so that one warning is off.
  target_compile_options(${name} PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wno-missing-field-initializers>)
  add_test(NAME ${name} COMMAND ${name} --use-colour no)
  set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "PTP_SHARED_DIR=${PTP_SHARED_DIR};PTP_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()

# PTP_TORCH_FIND_CODE — finds Torch for ptp::torch, here and in the installed ptpConfig.cmake
# (as the adapter's PACKAGE_CODE), and creates ptp::torch_wheel_libs: a pip wheel's
# libtorch_cuda finds NCCL, cuDNN, … of the nvidia-* wheels beside it through its $ORIGIN
# rpath at run time, but GNU ld does not follow that rpath at link time and may pick an older
# system copy instead (undefined nccl* symbols) — so -rpath-link points at the wheels.
set(PTP_TORCH_FIND_CODE [=[
find_package(Torch ${_ptp_quiet})
set(_ptp_dep_found "${Torch_FOUND}")
if(Torch_FOUND AND NOT TARGET ptp::torch_wheel_libs)
  add_library(ptp::torch_wheel_libs INTERFACE IMPORTED)
  file(GLOB _ptp_wheel_libs LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/*/lib")
  if(_ptp_wheel_libs AND CMAKE_SYSTEM_NAME STREQUAL "Linux")
    list(JOIN _ptp_wheel_libs ":" _ptp_wheel_libs)
    set_property(TARGET ptp::torch_wheel_libs PROPERTY
                 INTERFACE_LINK_OPTIONS "LINKER:-rpath-link,${_ptp_wheel_libs}")
  endif()
  unset(_ptp_wheel_libs)
  # Data parallelism (ptp/adapters/torch/distributed.hpp): LibTorch's c10d is in its
  # libraries, but ProcessGroupGloo.hpp includes Gloo's headers, which the wheel does not
  # ship (Debian: libgloo-dev), and compiles only with USE_C10D_GLOO. Missing headers fail
  # the configure instead of dropping the feature without a word.
  find_path(PTP_GLOO_INCLUDE_DIR NAMES gloo/algorithm.h gloo/rendezvous/store.h)
  if(NOT PTP_GLOO_INCLUDE_DIR)
    message(FATAL_ERROR "ptp::torch: Gloo's headers (gloo/algorithm.h) were not found, and ptp data-parallel training "
                        "(distributed.hpp) needs them. Install them (Debian: apt-get install libgloo-dev) or point "
                        "PTP_GLOO_INCLUDE_DIR at them.")
  endif()
  set_property(TARGET ptp::torch_wheel_libs APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS USE_C10D_GLOO)
  set_property(TARGET ptp::torch_wheel_libs APPEND PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${PTP_GLOO_INCLUDE_DIR}")
  # NCCL for CUDA tensors, where this LibTorch has CUDA and NCCL's header is beside it.
  if(TARGET torch_cuda OR TORCH_CUDA_LIBRARIES)
    find_path(PTP_NCCL_INCLUDE_DIR NAMES nccl.h HINTS "${TORCH_INSTALL_PREFIX}/../nvidia/nccl/include")
    file(GLOB _ptp_cuda_inc LIST_DIRECTORIES true "${TORCH_INSTALL_PREFIX}/../nvidia/cu*/include")
    find_path(PTP_CUDA_RUNTIME_INCLUDE_DIR NAMES cuda_runtime_api.h HINTS ${_ptp_cuda_inc} ${CUDAToolkit_INCLUDE_DIRS})
    if(PTP_NCCL_INCLUDE_DIR AND PTP_CUDA_RUNTIME_INCLUDE_DIR)
      set_property(TARGET ptp::torch_wheel_libs APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS USE_C10D_NCCL)
      set_property(TARGET ptp::torch_wheel_libs APPEND PROPERTY INTERFACE_INCLUDE_DIRECTORIES
                   "${PTP_NCCL_INCLUDE_DIR}" "${PTP_CUDA_RUNTIME_INCLUDE_DIR}")
    endif()
    unset(_ptp_cuda_inc)
  endif()
endif()
]=])
