# Ecology in a container: a build stage and a slim runtime with python3 and libseccomp.
#
# The nested sandbox needs privileges a default container does not have: it creates
# namespaces (net, pid, mount, ipc, uts), writes cgroup limits and installs seccomp
# filters. Run with, for example:
#   docker run --privileged --cgroupns=host -v ecology-data:/var/lib/ecology ecology run
# or, narrower: --cap-add SYS_ADMIN --security-opt seccomp=unconfined
#   --security-opt apparmor=unconfined with a delegated cgroup v2 subtree.
# Without them Ecology still runs but degrades loudly (see `ecology doctor` and docs/OPERATIONS.md).

FROM swift:6.1-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libseccomp-dev libsqlite3-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product ecology --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libseccomp2 libsqlite3-0 libcurl4 libxml2 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/.build/release/ecology /usr/local/bin/ecology
# SandboxLocator finds PREFIX/share/ecology/sandbox next to PREFIX/bin/ecology.
COPY sandbox /usr/local/share/ecology/sandbox
COPY config /etc/ecology
WORKDIR /var/lib/ecology
VOLUME /var/lib/ecology
ENTRYPOINT ["ecology"]
CMD ["run", "--data-dir", "/var/lib/ecology", "--config", "/etc/ecology/ecology.yaml"]
