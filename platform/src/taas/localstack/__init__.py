"""The local cloud in a box: install, start, check and stop the real servers TaaS needs.

PostgreSQL and Redis come from Debian packages, MinIO and the Kubernetes control plane
(etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok) are built from Go
modules, Keycloak is the Maven Central server distribution. Builds are cached outside the
checkout; running state (data, logs, pid files, certificates, secrets) lives in the state
directory. Everything binds to loopback.
"""
