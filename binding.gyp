{
  "targets": [
    {
      "target_name": "vfio_user_native",
      "sources": [
        "src/native/addon/addon.cc",
        "src/native/addon/common.cc",
        "src/native/addon/channel.cc",
        "src/native/addon/channel_io.cc",
        "src/native/addon/listener.cc",
        "src/native/addon/mmap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
