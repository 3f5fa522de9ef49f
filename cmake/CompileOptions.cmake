# Warnings and hardening flags shared by every target.
# Position-independent code everywhere (CMAKE_POSITION_INDEPENDENT_CODE: -fPIC for libraries,
# which the token plugin links into a shared object, -fPIE for executables), linked as PIE.
add_compile_options(-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -fstack-protector-strong
                    -D_FORTIFY_SOURCE=2)
add_link_options(-Wl,-z,relro,-z,now $<$<STREQUAL:$<TARGET_PROPERTY:TYPE>,EXECUTABLE>:-pie>)

# Sanitizer builds (CMakePresets.json: asan): KB_SANITIZE is a -fsanitize= list.
set(KB_SANITIZE "" CACHE STRING "Sanitizers for every target, e.g. address,undefined or thread")
if(KB_SANITIZE)
  add_compile_options(-fsanitize=${KB_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all
                      -U_FORTIFY_SOURCE)
  add_link_options(-fsanitize=${KB_SANITIZE})
endif()
