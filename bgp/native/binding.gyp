{
  "targets": [
    {
      "target_name": "margay_sockopt",
      "sources": ["sockopt.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
