# Warnings and hardening flags shared by every target.
add_compile_options(-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -fstack-protector-strong
                    -D_FORTIFY_SOURCE=2 -fPIE)
add_link_options(-Wl,-z,relro,-z,now -pie)
