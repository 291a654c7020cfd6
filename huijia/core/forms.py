"""What every HTML form shares: showing a service's refusal where the user will see it."""

from huijia.core.errors import ServiceError


class ServiceErrorsMixin:
    """`add_service_error(exc)`: the message goes on the field the service names when the form has it
    (under the form's own name: `service_field_aliases` maps service names to field names, None for
    "not a field here"), else above the form."""

    service_field_aliases: dict[str, str | None] = {}

    def add_service_error(self, exc: ServiceError) -> None:
        placed = False
        for name, messages in exc.fields.items():
            field = self.service_field_aliases.get(name, name)
            if field in self.fields:
                for message in messages:
                    self.add_error(field, message)
                placed = True
        if not placed:
            self.add_error(None, exc.message)
