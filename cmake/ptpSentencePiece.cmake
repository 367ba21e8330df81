# ptp::sentencepiece — SentencePiece models (ALBERT's spiece.model) through the system's
# libsentencepiece (Debian: libsentencepiece-dev). SentencePiece ships no CMake package,
# so the library is found with find_path/find_library (pkg-config only supplies hints)
# and wrapped in the imported target ptp::sentencepiece_library. The same code runs in
# the installed ptpConfig.cmake, so consumers get the imported target back.
# Included from the top-level CMakeLists; creates nothing when SentencePiece is not found.
if(NOT PTP_WITH_SENTENCEPIECE)
  return()
endif()

set(_ptp_sentencepiece_find [=[
if(NOT TARGET ptp::sentencepiece_library)
  find_package(PkgConfig QUIET)
  if(PkgConfig_FOUND)
    pkg_check_modules(PC_PTP_SENTENCEPIECE QUIET sentencepiece)
  endif()
  find_path(PTP_SENTENCEPIECE_INCLUDE_DIR sentencepiece_processor.h
            HINTS ${PC_PTP_SENTENCEPIECE_INCLUDE_DIRS})
  find_library(PTP_SENTENCEPIECE_LIBRARY NAMES sentencepiece
               HINTS ${PC_PTP_SENTENCEPIECE_LIBRARY_DIRS})
  if(PTP_SENTENCEPIECE_INCLUDE_DIR AND PTP_SENTENCEPIECE_LIBRARY)
    add_library(ptp::sentencepiece_library UNKNOWN IMPORTED)
    set_target_properties(ptp::sentencepiece_library PROPERTIES
        IMPORTED_LOCATION "${PTP_SENTENCEPIECE_LIBRARY}"
        INTERFACE_INCLUDE_DIRECTORIES "${PTP_SENTENCEPIECE_INCLUDE_DIR}")
  endif()
endif()
if(TARGET ptp::sentencepiece_library)
  set(_ptp_dep_found TRUE)
endif()
]=])

set(_ptp_dep_found FALSE)
cmake_language(EVAL CODE "${_ptp_sentencepiece_find}")
if(_ptp_dep_found)
  ptp_add_adapter(sentencepiece ptp::sentencepiece_library
                  PACKAGE_CODE "${_ptp_sentencepiece_find}")
  message(STATUS "ptp: SentencePiece found (${PTP_SENTENCEPIECE_LIBRARY})")
else()
  message(STATUS "ptp: SentencePiece not found; ptp::sentencepiece not created")
endif()
unset(_ptp_dep_found)
