"""`python -m writer.grpc`: generate the protobuf code now (importing the package does it; `make setup` runs this)."""

from writer.grpc.codegen import GENERATED

print(f"gRPC code generated in {GENERATED}")
