"""Starting a storage SCP server whose associations are cheap to open.

pynetdicom deep-copies the server's supported presentation contexts for every association it
accepts. For a storage SCP (171 SOP classes, 7,654 transfer syntax UIDs) that rebuilds and
re-validates every UID: about 40 ms of interpreter time per association, a C-ECHO's included,
paid while other associations wait for the interpreter lock. The contexts are copied here
with their UIDs shared instead (a `UID` is an immutable `str`).
"""

from __future__ import annotations

import copy
import ssl

from pynetdicom import AE
from pynetdicom.presentation import PresentationContext
from pynetdicom.transport import ThreadedAssociationServer


def fresh_context(context: PresentationContext) -> PresentationContext:
    """A copy of `context` with lists of its own (the UIDs in them are shared)."""
    new = copy.copy(context)
    for name, value in vars(context).items():
        if isinstance(value, list):
            setattr(new, name, list(value))
    return new


class SharedUidContexts(list):
    """Presentation contexts whose deep copy shares the immutable UIDs."""

    def __deepcopy__(self, memo: dict) -> list[PresentationContext]:
        return [fresh_context(context) for context in self]


def start_storage_server(
    ae: AE,
    address: tuple[str, int],
    handlers: list,
    ssl_context: ssl.SSLContext | None = None,
) -> ThreadedAssociationServer:
    """`ae.start_server` in the background, each association getting its contexts from
    `SharedUidContexts`. OSError when the address cannot be bound."""
    server = ae.start_server(address, block=False, evt_handlers=handlers, ssl_context=ssl_context)
    server.contexts = SharedUidContexts(server.contexts)
    return server
