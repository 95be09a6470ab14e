# `cmake --install`: rundund, the engine as static libraries with its public headers, and a
# CMake package, so that an embedder writes
#   find_package(rundun REQUIRED)
#   target_link_libraries(app PRIVATE rundun::engine)
# The public headers are actors/engine.hpp (and the cluster facade) with what they include;
# none includes CAF (integration_install_test checks both).
include(CMakePackageConfigHelpers)

set(rundun_public_headers
  actors/engine.hpp actors/fault_injection.hpp actors/idempotency.hpp actors/reader.hpp
  actors/run_logic.hpp
  actors/specs.hpp actors/cluster.hpp actors/cluster_members.hpp actors/cluster_reader.hpp
  actors/read_messages.hpp
  net/error.hpp net/retry_policy.hpp net/signature.hpp net/signer_cache.hpp
  persistence/clock.hpp persistence/domain_error.hpp persistence/idempotency_record.hpp
  persistence/operator_notice.hpp
  persistence/ids.hpp
  persistence/endpoint_stats.hpp persistence/latency_histogram.hpp persistence/listing.hpp
  persistence/model.hpp)
foreach(header IN LISTS rundun_public_headers)
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${header}
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rundun/${dir} COMPONENT dev)
endforeach()

# The engine's layers, each a static library: rundun::engine links the others.
foreach(layer engine logic persistence net media)
  set_target_properties(rundun_${layer} PROPERTIES EXPORT_NAME ${layer})
endforeach()
install(TARGETS rundun_engine rundun_logic rundun_persistence rundun_net rundun_media
        EXPORT rundun-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(TARGETS rundund RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)

set(rundun_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/rundun)
install(EXPORT rundun-targets NAMESPACE rundun:: DESTINATION ${rundun_cmake_dir} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/rundun-config.cmake.in
  ${PROJECT_BINARY_DIR}/rundun-config.cmake INSTALL_DESTINATION ${rundun_cmake_dir})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/rundun-config-version.cmake
  COMPATIBILITY SameMinorVersion)
# The license travels with the package: in its version file, which find_package reads first,
# and in its config, where a consumer reads it as rundun_LICENSE.
file(APPEND ${PROJECT_BINARY_DIR}/rundun-config-version.cmake
  "\n# rundun is licensed under the Apache License, Version 2.0.\nset(PACKAGE_LICENSE \"Apache-2.0\")\n")
# CAF 0.17, LMDB and Debian's c-ares ship no CMake package: the config brings the modules that
# wrap them.
install(FILES ${PROJECT_BINARY_DIR}/rundun-config.cmake
              ${PROJECT_BINARY_DIR}/rundun-config-version.cmake
              ${PROJECT_SOURCE_DIR}/cmake/find_caf.cmake
              ${PROJECT_SOURCE_DIR}/cmake/find_lmdb.cmake
              ${PROJECT_SOURCE_DIR}/cmake/find_cares.cmake
        DESTINATION ${rundun_cmake_dir} COMPONENT dev)
