"""Session-wide test set-up: the whole test process runs gevent-monkey-patched, as the platform does."""
import gevent.monkey

gevent.monkey.patch_all()
