"""Request bodies of the HTTP API (pydantic). Responses are plain JSON built from
the services' protobuf messages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(_Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)


class CreateUserRequest(_Strict):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: str
    full_name: str = Field(default="", max_length=120)


class CommunityIn(_Strict):
    name: str = Field(max_length=200)
    municipality: str = Field(max_length=200)
    department: str = Field(max_length=200)


class FamilyIn(_Strict):
    community_id: str = Field(max_length=64)
    name: str = Field(max_length=200)
    address: str = Field(default="", max_length=300)


class NationalIdIn(_Strict):
    type: str = Field(max_length=8)
    number: str = Field(max_length=32)


class BeneficiaryIn(_Strict):
    national_id: NationalIdIn
    first_names: str = Field(max_length=200)
    last_names: str = Field(max_length=200)
    birth_date: str = Field(max_length=20)
    sex: str = Field(max_length=20)
    community_id: str = Field(default="", max_length=64)
    family_id: str = Field(default="", max_length=64)
    relationship: str = Field(default="", max_length=32)
    whatsapp_phone: str = Field(default="", max_length=32)
    email: str = Field(default="", max_length=254)
    education_level: str = Field(default="", max_length=32)
    can_sign: bool = True


class MemberIn(_Strict):
    beneficiary_id: str = Field(max_length=64)
    relationship: str = Field(max_length=32)


class MoveIn(_Strict):
    to_family_id: str = Field(max_length=64)
    relationship: str = Field(max_length=32)


class ContactIn(_Strict):
    whatsapp_phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)


class ConsentIn(_Strict):
    kind: str = Field(max_length=32)


class BiometricIn(_Strict):
    finger: str = Field(max_length=32)
    template_base64: str = Field(max_length=8192)
