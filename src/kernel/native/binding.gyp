{
  "targets": [
    {
      "target_name": "margay_netlink",
      "sources": ["netlink.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
