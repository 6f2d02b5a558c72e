"""Realistic, reproducible people for the benchmarks: Colombian given names and
surnames (with their accents), birth dates, unique cédula numbers."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from services.beneficiaries.domain.model import Beneficiary, RegisterBeneficiary


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FEMALE_NAMES = _words(
    "María Luz Ana Sandra Yolanda Gloria Marta Rosa Carmen Dayana Yuliana Leidy Yésica Sofía "
    "Valentina Isabel Lucía Mónica Ángela Patricia Esperanza Ruth Nohemí Inés Beatriz Fernanda "
    "Josefina Belén Débora Zoila Marisol Yurany Dalia Elena Estefanía Natalia Adriana"
)
MALE_NAMES = _words(
    "José Luis Juan Carlos Jorge Andrés Jesús Óscar Víctor Héctor Rubén Tomás Martín Sebastián "
    "Nicolás Julián Iván Ramón Efraín Wilmar Yeison Jhon Fredy Edwin Germán Hernán Joaquín Álvaro "
    "Darío Adán Elías Moisés Ismael Rafael Alexánder Camilo Diego"
)
# Roughly by frequency: the first ones are much more common (weights below).
SURNAMES = _words(
    "Rodríguez Gómez González Martínez García López Hernández Sánchez Ramírez Pérez Díaz Muñoz Rojas "
    "Moreno Jiménez Álvarez Romero Valencia Mosquera Palacios Córdoba Rentería Murillo Asprilla "
    "Perea Cuesta Mena Hinestroza Quiñones Caicedo Castaño Peña Ibáñez Núñez Ordóñez Cárdenas Ríos "
    "Suárez Gutiérrez Rincón Vásquez Zúñiga Bolaños Ortíz Carabalí Angulo Banguero Lucumí Mina "
    "Viveros Arboleda Chaverra Copete Lemos Moya Salas Sinisterra Urrutia Yurgaquí Agualimpia "
    "Londoño Echeverri Galeano Montaño Bermúdez"
)
SURNAME_WEIGHTS = tuple(1.0 / (rank + 4) for rank in range(len(SURNAMES)))
# Prefixes people type to find someone (3-4 letters, with or without accents).
SEARCH_PREFIXES = _words(
    "rodr Góm gonz mart garc lóp hern sánc rami Pére díaz muñ mun roja more jimé alva Álva vale mosq "
    "pala córd cord rent muri aspr pere cues hine quiñ quin caic cast peñ pen ibá nuñ ordo Órdo card "
    "ríos suár guti rinc vásq zúñ bola cara angu lucu arbo chav sini yurg lond eche gale mont berm"
)


@dataclass(frozen=True)
class Person:
    number: str
    first_names: str
    last_names: str
    birth_date: str
    sex: str
    whatsapp_phone: str

    def build(self, community_id: str, now: datetime) -> Beneficiary:
        """The domain entity the service would register for this person."""
        return RegisterBeneficiary(
            id_type="CC",
            id_number=self.number,
            first_names=self.first_names,
            last_names=self.last_names,
            birth_date=self.birth_date,
            sex=self.sex,
            community_id=community_id,
            whatsapp_phone=self.whatsapp_phone,
        ).build(now, now.date())


class PeopleFactory:
    def __init__(self, seed: int = 20240611) -> None:
        self.rng = random.Random(seed)

    def numbers(self, count: int) -> list[str]:
        """``count`` unique cédula numbers (8-10 digits, never a leading zero)."""
        return [str(n) for n in self.rng.sample(range(10_000_000, 9_999_999_999), count)]

    def person(self, number: str) -> Person:
        rng = self.rng
        sex = "female" if rng.random() < 0.52 else "male"
        names = FEMALE_NAMES if sex == "female" else MALE_NAMES
        given = rng.sample(names, 2 if rng.random() < 0.6 else 1)
        surnames = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS, k=2)
        year = rng.randint(1940, 2006)
        born = f"{year:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        phone = f"3{rng.randint(0, 2)}{rng.randint(0, 9)}{rng.randint(1_000_000, 9_999_999)}"
        return Person(
            number,
            " ".join(given),
            " ".join(surnames),
            born,
            sex,
            phone if rng.random() < 0.7 else "",
        )

    def people(self, count: int) -> list[Person]:
        return [self.person(n) for n in self.numbers(count)]
