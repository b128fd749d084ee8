# ASan/UBSan for the torch-free parsers: their tests run under sanitizers as part of the test command.
if(MOULIN_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
