# Refuses an #include that runs up the layers. Run as a script:
#   cmake -DROOT=<source dir> -P cmake/check_layering.cmake
# The layers, and what each may include besides itself (docs/architecture.md):
#   app -> api -> actors -> net, persistence, media
# Linking keeps symbols honest; this keeps headers honest, since every layer includes from
# the same root ("actors/engine.hpp").
cmake_minimum_required(VERSION 3.25) # script mode: the policies of the project, IN_LIST among them
set(layers persistence net media actors api app)
set(uses_persistence persistence)
set(uses_net net)
set(uses_media media)
set(uses_actors actors net persistence media)
set(uses_api api actors net persistence media)
set(uses_app app api actors net persistence media)

if(NOT ROOT)
  message(FATAL_ERROR "check_layering: pass -DROOT=<source dir>")
endif()
set(violations "")
foreach(layer IN LISTS layers)
  file(GLOB_RECURSE files "${ROOT}/${layer}/*.cpp" "${ROOT}/${layer}/*.hpp")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" includes REGEX "^[ \t]*#[ \t]*include[ \t]*\"[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([a-z_]+)/.*" "\\1" used "${line}")
      if(used IN_LIST layers AND NOT used IN_LIST uses_${layer})
        file(RELATIVE_PATH rel "${ROOT}" "${file}")
        string(REPLACE ";" ", " allowed "${uses_${layer}}")
        list(APPEND violations "  ${rel}: ${line}  (${layer}/ may include only ${allowed})")
      endif()
    endforeach()
  endforeach()
endforeach()
if(violations)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "An include runs up the layers (app -> api -> actors -> net, "
                      "persistence, media):\n${text}")
endif()
