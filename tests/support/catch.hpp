// Catch2 shim: Debian 12 ships Catch2 v2 (single header), newer systems v3.
#pragma once
#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#include <catch2/catch_template_test_macros.hpp>
using Catch::Approx;
#else
#include <catch2/catch.hpp>
#endif
