"""Authentication and authorization of every gRPC call, in one interceptor.

`interceptor.AuthInterceptor` resolves who calls (bearer token, else the mTLS
certificate's role), finds the permission the method needs in
`permissions.METHOD_RULES`, checks the caller's role bindings for the request's
project, and exposes the identity to servicers through `identity.current()`.
See docs/security.md.
"""
