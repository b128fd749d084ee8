// Anchor executable for the precompiled torch header used by executables (see MoulinTorch.cmake).
int main() { return 0; }
