# Applications (SVC): one section `svc.<name>` per configured service: is it running, and does it
# answer its own health probe.
