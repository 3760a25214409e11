# `cmake --install build` installs the static library, the public headers and a
# CMake package, so another program can `find_package(inferconf)` and link
# `inferconf::inferconf` to resolve presets in-process.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS inferconf EXPORT inferconfTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/inferconf DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY catalog/ DESTINATION ${CMAKE_INSTALL_DATADIR}/inferconf/catalog)
if(TARGET inferconf_exe)
  install(TARGETS inferconf_exe RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT inferconfTargets NAMESPACE inferconf:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/inferconf)
configure_package_config_file(cmake/inferconfConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/inferconfConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/inferconf)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/inferconfConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/inferconfConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/inferconfConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/inferconf)
