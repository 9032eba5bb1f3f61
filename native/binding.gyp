{
  "targets": [
    {
      "target_name": "surplus_hash",
      "sources": ["src/addon.c", "src/share_core.c", "src/share_shani.c"],
      "cflags": ["-O3", "-Wall", "-Wextra"],
      "cflags_c": ["-std=gnu11"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] },
      "msvs_settings": { "VCCLCompilerTool": { "Optimization": 2 } }
    }
  ]
}
