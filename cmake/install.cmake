# The installed module: the libraries (static unless BUILD_SHARED_LIBS), their public headers, the
# `gatehouse` executable, and the CMake package a host program finds with find_package(gatehouse).
# Each library is its own package component with its own export set, so that a host that links
# gatehouse::engine alone needs Boost's headers and nothing else (see gatehouseConfig.cmake.in).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GATEHOUSE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/gatehouse
    CACHE STRING "Where the CMake package goes, relative to the install prefix")

# In dependency order: gatehouseConfig.cmake loads the export sets in this order.
set(GATEHOUSE_COMPONENTS policy engine store iam server)
foreach(component IN LISTS GATEHOUSE_COMPONENTS)
  set(target gatehouse_${component})
  # Exported as gatehouse::<component>, the name the build tree's ALIAS gives it.
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${component})
  # INCLUDES DESTINATION is the install-side half of each folder's
  # $<BUILD_INTERFACE:.../include>.
  install(TARGETS ${target} EXPORT gatehouse-${component}-targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${component}/include/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(EXPORT gatehouse-${component}-targets
          NAMESPACE gatehouse::
          DESTINATION ${GATEHOUSE_INSTALL_CMAKEDIR})
endforeach()

install(TARGETS gatehouse RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/gatehouseConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/gatehouseConfig.cmake
                              INSTALL_DESTINATION ${GATEHOUSE_INSTALL_CMAKEDIR}
                              NO_SET_AND_CHECK_MACRO)
# 0.x: a minor version may break the interface.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gatehouseConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gatehouseConfig.cmake
              ${PROJECT_BINARY_DIR}/gatehouseConfigVersion.cmake
        DESTINATION ${GATEHOUSE_INSTALL_CMAKEDIR})
