"""Edit forms of a person: contact data and preferred channels, a move to another
household of the community, and each consent granted or withdrawn (the service
records who did it and when: the evidence the person's page shows). Same calls,
rules and messages as the API's routes; a success redirects to the person."""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from gateway.web import forms
from gateway.web.app import Staff, WebApp

CHANNEL_SLOTS = ("contact_channels.1", "contact_channels.2", "contact_channels.3")
FAMILIES_SHOWN = 200


def register(app: FastAPI, web: WebApp) -> None:
    def call(staff: Staff, method: Any, message: Any) -> Any:
        return web.backend.call(method, message, staff.user)

    def person_of(staff: Staff, person_id: str) -> Any:
        try:
            return call(staff, web.backend.beneficiaries.GetBeneficiary, bpb.GetBeneficiaryRequest(id=person_id[:64]))
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return None
            raise

    def not_found(request: Request, staff: Staff) -> HTMLResponse:
        return web.render(
            request, staff, "error.html", status=404, title="Persona no encontrada", message="No existe esa persona."
        )

    def name(person: Any) -> str:
        return f"{person.first_names} {person.last_names}"

    # -- contact ---------------------------------------------------------------------
    def contact_form(
        request: Request, staff: Staff, person: Any, values: dict[str, str], problems: dict[str, str], status: int = 200
    ) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "contacto.html",
            status=status,
            title=f"Contacto de {name(person)}",
            person=person,
            name=name(person),
            values=values,
            problems=problems,
            choices=forms.choices(),
            slots=CHANNEL_SLOTS,
        )

    @app.get("/app/personas/{person_id}/contacto", response_class=HTMLResponse, include_in_schema=False)
    def edit_contact(request: Request, person_id: str) -> HTMLResponse:
        staff = forms.writer(web, request, "UpdateContact")
        person = person_of(staff, person_id)
        if person is None:
            return not_found(request, staff)
        values = {"whatsapp_phone": person.whatsapp_phone, "email": person.email}
        values.update(zip(CHANNEL_SLOTS, person.contact_channels, strict=False))
        return contact_form(request, staff, person, values, {})

    @app.post("/app/personas/{person_id}/contacto", include_in_schema=False)
    def update_contact(request: Request, person_id: str, form: forms.Posted) -> Response:
        staff = forms.writer(web, request, "UpdateContact")
        web.check_csrf(staff, form.get("csrf", ""))
        person = person_of(staff, person_id)
        if person is None:
            return not_found(request, staff)
        values = forms.text(form, "whatsapp_phone", "email", *CHANNEL_SLOTS)
        message = bpb.UpdateContactRequest(
            beneficiary_id=person.id, whatsapp_phone=values["whatsapp_phone"], email=values["email"]
        )
        # No channel chosen: the platform's order (WhatsApp, SMS, email).
        message.contact_channels.CopyFrom(bpb.ContactChannels(channels=[values[s] for s in CHANNEL_SLOTS if values[s]]))
        try:
            call(staff, web.backend.beneficiaries.UpdateContact, message)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            return contact_form(request, staff, person, values, problems, status)
        return RedirectResponse(f"/app/personas/{person.id}?hecho=contacto", status_code=303)

    # -- a move to another household --------------------------------------------------
    def households(staff: Staff, person: Any) -> dict[str, str]:
        """The other households of the person's community that have members, by name."""
        found: set[str] = set()
        after = ""
        while True:
            page = call(
                staff,
                web.backend.beneficiaries.ListCommunityMembers,
                bpb.ListCommunityMembersRequest(community_id=person.community_id, limit=500, after_id=after),
            ).beneficiaries
            found.update(p.family_id for p in page if p.family_id and p.family_id != person.family_id)
            if len(page) < 500 or len(found) >= FAMILIES_SHOWN:
                break
            after = page[-1].id
        names = {}
        for family_id in sorted(found)[:FAMILIES_SHOWN]:
            family = call(staff, web.backend.beneficiaries.GetFamily, bpb.GetFamilyRequest(id=family_id))
            names[family_id] = f"{family.name} · {family.address}" if family.address else family.name
        return dict(sorted(names.items(), key=lambda item: item[1].casefold()))

    def move_form(
        request: Request, staff: Staff, person: Any, values: dict[str, str], problems: dict[str, str], status: int = 200
    ) -> HTMLResponse:
        return web.render(
            request,
            staff,
            "mover.html",
            status=status,
            title=f"Trasladar a {name(person)}",
            person=person,
            name=name(person),
            values=values,
            problems=problems,
            choices=forms.choices(),
            households=households(staff, person),
        )

    @app.get("/app/personas/{person_id}/traslado", response_class=HTMLResponse, include_in_schema=False)
    def move(request: Request, person_id: str) -> HTMLResponse:
        staff = forms.writer(web, request, "MoveMember")
        person = person_of(staff, person_id)
        if person is None:
            return not_found(request, staff)
        return move_form(request, staff, person, {"relationship": person.relationship}, {})

    @app.post("/app/personas/{person_id}/traslado", include_in_schema=False)
    def do_move(request: Request, person_id: str, form: forms.Posted) -> Response:
        staff = forms.writer(web, request, "MoveMember")
        web.check_csrf(staff, form.get("csrf", ""))
        person = person_of(staff, person_id)
        if person is None:
            return not_found(request, staff)
        values = forms.text(form, "to_family_id", "relationship")
        message = bpb.MoveMemberRequest(beneficiary_id=person.id, **values)
        try:
            call(staff, web.backend.beneficiaries.MoveMember, message)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            # The service names the household "family_id", or none when it does not exist.
            if "family_id" in problems or exc.code() == grpc.StatusCode.NOT_FOUND:
                problems["to_family_id"] = problems.pop("family_id", "") or problems.pop("", "No existe ese hogar")
            return move_form(request, staff, person, values, problems, status)
        return RedirectResponse(f"/app/personas/{person.id}?hecho=traslado", status_code=303)

    # -- consents ----------------------------------------------------------------------
    @app.post("/app/personas/{person_id}/consentimientos", include_in_schema=False)
    def consent(request: Request, person_id: str, form: forms.Posted) -> Response:
        granting = form.get("accion") == "otorgar"
        staff = forms.writer(web, request, "RecordConsent" if granting else "WithdrawConsent")
        web.check_csrf(staff, form.get("csrf", ""))
        if form.get("accion") not in ("otorgar", "retirar"):
            unknown = "Indique si se registra o se retira el consentimiento."
            return web.render(request, staff, "error.html", status=400, title="Consentimiento", message=unknown)
        person = person_of(staff, person_id)
        if person is None:
            return not_found(request, staff)
        kind = form.get("kind", "")
        try:
            if granting:
                message: Any = bpb.RecordConsentRequest(beneficiary_id=person.id, kind=kind)
                call(staff, web.backend.beneficiaries.RecordConsent, message)
            else:
                message = bpb.WithdrawConsentRequest(beneficiary_id=person.id, kind=kind)
                call(staff, web.backend.beneficiaries.WithdrawConsent, message)
        except grpc.RpcError as exc:
            status, problems = forms.refusal(exc)
            said = "; ".join(problems.values())
            return web.render(request, staff, "error.html", status=status, title="Consentimiento", message=said)
        return RedirectResponse(
            f"/app/personas/{person.id}?hecho={'otorgado' if granting else 'retirado'}#consentimientos", status_code=303
        )
