# `cpack -G DEB` (or the `package` target): rundund_<version>_<arch>.deb, the server alone,
# with its systemd unit and settings file. Its Depends are the runtime libraries rundund
# links (dpkg-shlibdeps), never -dev packages. integration_package_test builds it, runs
# lintian and systemd-analyze on it, and installs it into a throwaway root.
set(package_dir ${PROJECT_SOURCE_DIR}/cmake/package)
install(FILES ${package_dir}/rundund.service
        DESTINATION lib/systemd/system COMPONENT server)
# 0640: it may hold the API key. systemd reads it as root, before the unit's DynamicUser
# takes effect, so no other user needs to.
install(FILES ${package_dir}/rundund.default
        DESTINATION /etc/default RENAME rundund COMPONENT server
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
# Debian wants the changelog and the manual page compressed with gzip -9n (no name, no
# time stamp).
execute_process(COMMAND gzip -9nc ${package_dir}/changelog.Debian
                OUTPUT_FILE ${PROJECT_BINARY_DIR}/changelog.Debian.gz COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND gzip -9nc ${package_dir}/rundund.1
                OUTPUT_FILE ${PROJECT_BINARY_DIR}/rundund.1.gz COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${PROJECT_BINARY_DIR}/rundund.1.gz DESTINATION share/man/man1 COMPONENT server)
install(FILES ${package_dir}/copyright ${PROJECT_BINARY_DIR}/changelog.Debian.gz
              ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/operations.md
        DESTINATION share/doc/rundund COMPONENT server)
file(WRITE ${PROJECT_BINARY_DIR}/conffiles "/etc/default/rundund\n")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rundund)
set(CPACK_PACKAGE_VENDOR Rundun)
set(CPACK_PACKAGE_CONTACT "Rundun maintainers <maintainers@rundun.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "delivery engine for checklist runs and their signed webhooks")
set(CPACK_PACKAGE_DESCRIPTION "Rundun sends checklists (runs) to people who complete them on a
phone through a link. rundund records each step and delivers signed Standard
Webhooks (step.completed, run.completed, ...) to the customer's backend, at
least once, retried on a fixed schedule, across crashes. Its store is an
embedded LMDB environment in /var/lib/rundun.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Only the server: the engine's libraries and headers are for `cmake --install`.
set(CPACK_INSTALL_CMAKE_PROJECTS "${PROJECT_BINARY_DIR};rundun;server;/")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # rundund_<version>-<release>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
