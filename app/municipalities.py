"""Latvia's municipalities since the 2021 administrative reform (with Varakļāni, restored in 2022): the 7 state
cities and the 36 municipalities ("novadi"). An organisation stores the Latvian name, the key; English readers see
the official English form ("Jelgava Municipality")."""
from __future__ import annotations

STATE_CITIES = ("Daugavpils", "Jelgava", "Jūrmala", "Liepāja", "Rēzekne", "Rīga", "Ventspils")
# the municipality's name in Latvian (genitive + "novads") and the place it is named after (for the English form)
MUNICIPALITIES = {
    "Aizkraukles": "Aizkraukle", "Alūksnes": "Alūksne", "Augšdaugavas": "Augšdaugava", "Ādažu": "Ādaži",
    "Balvu": "Balvi", "Bauskas": "Bauska", "Cēsu": "Cēsis", "Dienvidkurzemes": "Dienvidkurzeme", "Dobeles": "Dobele",
    "Gulbenes": "Gulbene", "Jelgavas": "Jelgava", "Jēkabpils": "Jēkabpils", "Krāslavas": "Krāslava",
    "Kuldīgas": "Kuldīga", "Ķekavas": "Ķekava", "Limbažu": "Limbaži", "Līvānu": "Līvāni", "Ludzas": "Ludza",
    "Madonas": "Madona", "Mārupes": "Mārupe", "Ogres": "Ogre", "Olaines": "Olaine", "Preiļu": "Preiļi",
    "Rēzeknes": "Rēzekne", "Ropažu": "Ropaži", "Salaspils": "Salaspils", "Saldus": "Saldus",
    "Saulkrastu": "Saulkrasti", "Siguldas": "Sigulda", "Smiltenes": "Smiltene", "Talsu": "Talsi", "Tukuma": "Tukums",
    "Valkas": "Valka", "Valmieras": "Valmiera", "Varakļānu": "Varakļāni", "Ventspils": "Ventspils",
}
_ENGLISH = {**{city: "Riga" if city == "Rīga" else city for city in STATE_CITIES},
            **{f"{genitive} novads": f"{place} Municipality" for genitive, place in MUNICIPALITIES.items()}}
_LATVIAN_ALPHABET = "aābcčdeēfgģhiījkķlļmnņoprsštuūvzž"


def _latvian_order(text: str) -> list[int]:
    return [_LATVIAN_ALPHABET.find(ch) if ch in _LATVIAN_ALPHABET else 100 + ord(ch) for ch in text.casefold()]


KEYS = tuple(sorted(_ENGLISH, key=_latvian_order))


def name(key: str | None, lang: str = "lv") -> str:
    """The municipality as the reader sees it: "Jelgavas novads" in Latvian, "Jelgava Municipality" in English."""
    if not key:
        return ""
    return _ENGLISH.get(key, key) if lang == "en" else key


def choices(lang: str) -> list[tuple[str, str]]:
    return [(key, name(key, lang)) for key in KEYS]
