# ptp_add_adapter(<name> <dependency targets...>)
# One INTERFACE target ptp::<name> per backend, headers under adapters/<name>/include.
function(ptp_add_adapter name)
  add_library(ptp_${name} INTERFACE)
  add_library(ptp::${name} ALIAS ptp_${name})
  set_target_properties(ptp_${name} PROPERTIES EXPORT_NAME ${name})
  file(GLOB_RECURSE _hdrs CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/adapters/${name}/include/*.hpp)
  target_sources(ptp_${name} INTERFACE FILE_SET HEADERS
                 BASE_DIRS ${PROJECT_SOURCE_DIR}/adapters/${name}/include FILES ${_hdrs})
  target_link_libraries(ptp_${name} INTERFACE ptp::ptp ${ARGN})
  set(PTP_ADAPTERS ${PTP_ADAPTERS} ${name} PARENT_SCOPE)
  set(_ptp_installed_targets ${_ptp_installed_targets} ptp_${name} PARENT_SCOPE)
endfunction()

# ptp_add_test(<name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>])
# One Catch2 executable registered with CTest; the shared main lives in ptp_catch_main.
function(ptp_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ptp_catch_main ${T_LIBS})
  target_compile_options(${name} PRIVATE $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic>)
  add_test(NAME ${name} COMMAND ${name} --use-colour no)
  set_tests_properties(${name} PROPERTIES
      ENVIRONMENT "PTP_SHARED_DIR=${PTP_SHARED_DIR};PTP_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(T_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
