# gatehouse_library(NAME SOURCES file... [PUBLIC dependency...] [PRIVATE dependency...])
#
# One folder, one library: target gatehouse_NAME with the alias gatehouse::NAME, its public
# headers in include/ (build tree only; the installed package has its own paths), its private
# headers in src/, and the project's warnings and sanitizers kept out of its interface.
function(gatehouse_library name)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "SOURCES;PUBLIC;PRIVATE")
  if(arg_UNPARSED_ARGUMENTS OR NOT arg_SOURCES)
    message(FATAL_ERROR "gatehouse_library(${name}): SOURCES, PUBLIC and PRIVATE lists only")
  endif()
  set(target gatehouse_${name})
  add_library(${target} ${arg_SOURCES})
  add_library(gatehouse::${name} ALIAS ${target})
  target_include_directories(${target}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    PRIVATE src)
  target_link_libraries(${target}
    PUBLIC ${arg_PUBLIC}
    PRIVATE ${arg_PRIVATE} $<BUILD_INTERFACE:gatehouse_build_options>)
endfunction()
