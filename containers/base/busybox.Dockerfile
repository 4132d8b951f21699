# ossrflow/busybox:local: the static busybox of Debian's busybox-static package, nothing else.
# Built by containers/base/build.sh (which puts the binary next to this file in the build context).
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/var/tmp", "/root"]
ENV PATH=/bin
CMD ["/bin/sh"]
