"""Reads a WSDL's inline schema with ElementTree so tests can compare WSDLs and check response order."""
from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree import ElementTree

XSD = "{http://www.w3.org/2001/XMLSchema}"
WSDL = "{http://schemas.xmlsoap.org/wsdl/}"
WSOAP = "{http://schemas.xmlsoap.org/wsdl/soap/}"

# A child declaration: (name, type local name or None, minOccurs, maxOccurs, default, inline type or None)
Child = tuple[str, Any, str, str, Any, Any]


def _local(qname: str | None) -> str | None:
    return None if qname is None else qname.split(":")[-1]


class WsdlSchema:
    """The types, elements and bindings of one WSDL file."""

    def __init__(self, path: str | Path) -> None:
        self.root = ElementTree.parse(path).getroot()
        self.schema = self.root.find(f"{WSDL}types/{XSD}schema")
        assert self.schema is not None, f"{path} has no inline schema"
        self.complex_types = {n.get("name"): n for n in self.schema.findall(f"{XSD}complexType")}
        self.simple_types = {n.get("name"): n for n in self.schema.findall(f"{XSD}simpleType")}
        self.elements = {n.get("name"): n for n in self.schema.findall(f"{XSD}element")}

    # ------------------------------------------------------------------ descriptions

    def describe_complex(self, node: ElementTree.Element) -> tuple[str, tuple[Child, ...]]:
        """(group kind, children) of a complexType node, an extension flattened base-first."""
        content = node.find(f"{XSD}complexContent/{XSD}extension")
        if content is not None:
            base_kind, base_children = self.describe_complex(self.complex_types[_local(content.get("base"))])
            kind, own = self._group(content)
            return kind, base_children + own
        return self._group(node)

    def _group(self, node: ElementTree.Element) -> tuple[str, tuple[Child, ...]]:
        for kind in ("sequence", "all", "choice"):
            group = node.find(f"{XSD}{kind}")
            if group is not None:
                return kind, tuple(self.describe_element(e) for e in group.findall(f"{XSD}element"))
        return "empty", ()

    def describe_element(self, node: ElementTree.Element) -> Child:
        inline = node.find(f"{XSD}complexType")
        return (
            node.get("name"),
            _local(node.get("type")),
            node.get("minOccurs", "1"),
            node.get("maxOccurs", "1"),
            node.get("default"),
            self.describe_complex(inline) if inline is not None else None,
        )

    def describe_simple(self, name: str) -> tuple[Any, ...]:
        node = self.simple_types[name]
        restriction = node.find(f"{XSD}restriction")
        assert restriction is not None
        facets = tuple(sorted((_local(f.tag), f.get("value")) for f in restriction))
        return _local(restriction.get("base")), facets

    def reachable_types(self, element_names: list[str]) -> tuple[set[str], set[str]]:
        """Named complex and simple types used, directly or not, by these global elements."""
        complex_seen: set[str] = set()
        simple_seen: set[str] = set()

        def visit(children: tuple[Child, ...]) -> None:
            for _, type_name, _, _, _, inline in children:
                if inline is not None:
                    visit(inline[1])
                elif type_name in self.complex_types and type_name not in complex_seen:
                    complex_seen.add(type_name)
                    node = self.complex_types[type_name]
                    ext = node.find(f"{XSD}complexContent/{XSD}extension")
                    if ext is not None:
                        base = _local(ext.get("base"))
                        if base not in complex_seen:
                            complex_seen.add(base)
                            visit(self.describe_complex(self.complex_types[base])[1])
                    visit(self.describe_complex(node)[1])
                elif type_name in self.simple_types:
                    simple_seen.add(type_name)

        visit(tuple(self.describe_element(self.elements[name]) for name in element_names))
        return complex_seen, simple_seen

    # ------------------------------------------------------------------ WSDL parts

    def messages(self) -> dict[str, list[tuple[str, str]]]:
        return {
            m.get("name"): [(p.get("name"), _local(p.get("element"))) for p in m.findall(f"{WSDL}part")]
            for m in self.root.findall(f"{WSDL}message")
        }

    def port_type_operations(self) -> dict[str, tuple[str, str]]:
        port_type = self.root.find(f"{WSDL}portType")
        return {
            op.get("name"): (_local(op.find(f"{WSDL}input").get("message")), _local(op.find(f"{WSDL}output").get("message")))
            for op in port_type.findall(f"{WSDL}operation")
        }

    def binding(self) -> dict[str, Any]:
        binding = self.root.find(f"{WSDL}binding")
        soap_binding = binding.find(f"{WSOAP}binding")
        operations = {}
        for op in binding.findall(f"{WSDL}operation"):
            uses = tuple(b.get("use") for b in op.iter(f"{WSOAP}body"))
            operations[op.get("name")] = (op.find(f"{WSOAP}operation").get("soapAction"), uses)
        return {
            "name": binding.get("name"),
            "type": _local(binding.get("type")),
            "style": soap_binding.get("style"),
            "transport": soap_binding.get("transport"),
            "operations": operations,
        }

    def service(self) -> tuple[str, str, str, str]:
        service = self.root.find(f"{WSDL}service")
        port = service.find(f"{WSDL}port")
        return service.get("name"), port.get("name"), _local(port.get("binding")), port.find(f"{WSOAP}address").get("location")

    # ------------------------------------------------------------------ checking instances

    def check_instance(self, element: ElementTree.Element, description: tuple[str, tuple[Child, ...]], path: str) -> list[str]:
        """Problems of one XML element against a type description: unknown, misplaced, missing or repeated children."""
        kind, children = description
        problems: list[str] = []
        order = [c[0] for c in children]
        declared = {c[0]: c for c in children}
        counts: dict[str, int] = {}
        last = -1
        for child in element:
            name = child.tag.split("}")[-1]
            if "}" in child.tag:
                problems.append(f"{path}/{name} is namespace-qualified")
            if name not in declared:
                problems.append(f"{path}/{name} is not declared")
                continue
            position = order.index(name)
            if kind == "sequence" and position < last:
                problems.append(f"{path}/{name} comes after {order[last]}, against the sequence")
            last = max(last, position)
            counts[name] = counts.get(name, 0) + 1
            _, type_name, _, _, _, inline = declared[name]
            nested = inline if inline is not None else (
                self.describe_complex(self.complex_types[type_name]) if type_name in self.complex_types else None
            )
            if nested is not None:
                problems.extend(self.check_instance(child, nested, f"{path}/{name}"))
        for name, _, min_occurs, max_occurs, _, _ in children:
            n = counts.get(name, 0)
            if n < int(min_occurs):
                problems.append(f"{path}/{name} is required but missing")
            if max_occurs != "unbounded" and n > int(max_occurs):
                problems.append(f"{path}/{name} appears {n} times, at most {max_occurs} allowed")
        return problems

    def check_response(self, envelope: bytes) -> list[str]:
        """Problems of a response envelope's body element against this WSDL."""
        root = ElementTree.fromstring(envelope)
        body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
        wrapper = list(body)[0]
        name = wrapper.tag.split("}")[-1]
        assert wrapper.tag.startswith("{urn:dictionary:com.chargepoint.webservices}"), wrapper.tag
        element = self.elements[name]
        return self.check_instance(wrapper, self.describe_element(element)[5], name)
