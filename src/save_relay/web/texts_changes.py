"""The words of the console's rename, remove and prune pages and of a canvass by zones (nl, fr, en, de);
merged into the page texts by ``i18n.texts``."""

from __future__ import annotations

from typing import Final

CHANGE_TEXTS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "rename_company": "Naam van het bedrijf wijzigen",
        "new_name": "Nieuwe naam",
        "rename": "Naam wijzigen",
        "remove_company": "Bedrijf verwijderen",
        "remove": "Verwijderen",
        "remove_title": "Verwijderen bevestigen",
        "remove_company_warning": "{company} wordt verwijderd met {count} adres(sen), zijn zones en "
        "groepen. Dat kan niet ongedaan gemaakt worden. Om iemand overal te wissen: de privacyfunctie "
        "van de beheerder.",
        "remove_address_warning": "{address} wordt uit {company} verwijderd; een bedrijf zonder adres "
        "verdwijnt mee. Dat kan niet ongedaan gemaakt worden.",
        "remove_yes": "Ja, verwijderen",
        "cancel": "Annuleren",
        "removed": "Verwijderd",
        "zones_prune": "Zones die niet in het bestand staan verwijderen (met hun lidmaatschappen)",
        "prune_title": "Zones verwijderen?",
        "prune_warning": "Het bestand werd gecontroleerd maar nog niet toegepast. Deze zones staan er niet "
        "in en worden verwijderd, met hun lidmaatschappen:",
        "prune_members": "abonnees",
        "prune_confirm": "Toepassen en deze zones verwijderen",
        "prune_nothing": "Geen zone wordt verwijderd.",
        "import_counts": "{created} nieuw, {updated} gewijzigd, {unchanged} ongewijzigd; {added} adres(sen) "
        "toegevoegd; {refused} regel(s) geweigerd",
        "canvass_zones": "Of (ook): de bedrijven in deze zones",
        "canvass_zones_help": "Zonder punt op de kaart gaat het buurtonderzoek naar de gekozen zones; met "
        "beide naar wie in de cirkel of in een zone ligt.",
    },
    "fr": {
        "rename_company": "Renommer l'entreprise",
        "new_name": "Nouveau nom",
        "rename": "Renommer",
        "remove_company": "Supprimer l'entreprise",
        "remove": "Supprimer",
        "remove_title": "Confirmer la suppression",
        "remove_company_warning": "{company} sera supprimée avec {count} adresse(s), ses zones et "
        "groupes. C'est irréversible. Pour effacer une personne partout : la fonction de vie privée "
        "de l'administrateur.",
        "remove_address_warning": "{address} sera retirée de {company} ; une entreprise sans adresse "
        "disparaît aussi. C'est irréversible.",
        "remove_yes": "Oui, supprimer",
        "cancel": "Annuler",
        "removed": "Supprimé",
        "zones_prune": "Supprimer les zones absentes du fichier (avec leurs appartenances)",
        "prune_title": "Supprimer des zones ?",
        "prune_warning": "Le fichier a été vérifié mais pas encore appliqué. Ces zones n'y figurent pas et "
        "seront supprimées, avec leurs appartenances :",
        "prune_members": "abonnés",
        "prune_confirm": "Appliquer et supprimer ces zones",
        "prune_nothing": "Aucune zone ne sera supprimée.",
        "import_counts": "{created} nouveau(x), {updated} modifié(s), {unchanged} inchangé(s) ; {added} "
        "adresse(s) ajoutée(s) ; {refused} ligne(s) refusée(s)",
        "canvass_zones": "Ou (aussi) : les entreprises de ces zones",
        "canvass_zones_help": "Sans point sur la carte, l'enquête va aux zones choisies ; avec les deux, à "
        "ceux qui sont dans le cercle ou dans une zone.",
    },
    "en": {
        "rename_company": "Rename the company",
        "new_name": "New name",
        "rename": "Rename",
        "remove_company": "Remove the company",
        "remove": "Remove",
        "remove_title": "Confirm the removal",
        "remove_company_warning": "{company} is removed with its {count} address(es), zones and groups. "
        "This cannot be undone. To erase a person everywhere: the admin's privacy function.",
        "remove_address_warning": "{address} is removed from {company}; a company left without an address "
        "goes too. This cannot be undone.",
        "remove_yes": "Yes, remove",
        "cancel": "Cancel",
        "removed": "Removed",
        "zones_prune": "Remove the zones the file does not name (with their memberships)",
        "prune_title": "Remove zones?",
        "prune_warning": "The file was checked but not applied yet. These zones are not in it and will be "
        "removed, with their memberships:",
        "prune_members": "subscribers",
        "prune_confirm": "Apply and remove these zones",
        "prune_nothing": "No zone is removed.",
        "import_counts": "{created} new, {updated} changed, {unchanged} unchanged subscriber(s); {added} "
        "address(es) added; {refused} line(s) refused",
        "canvass_zones": "Or (also): the companies in these zones",
        "canvass_zones_help": "Without a point on the map the canvass goes to the zones chosen; with both, "
        "to whoever is in the circle or in a zone.",
    },
    "de": {
        "rename_company": "Firma umbenennen",
        "new_name": "Neuer Name",
        "rename": "Umbenennen",
        "remove_company": "Firma entfernen",
        "remove": "Entfernen",
        "remove_title": "Entfernen bestätigen",
        "remove_company_warning": "{company} wird mit {count} Adresse(n), Zonen und Gruppen entfernt. Das "
        "lässt sich nicht rückgängig machen. Um eine Person überall zu löschen: die Datenschutzfunktion.",
        "remove_address_warning": "{address} wird aus {company} entfernt; eine Firma ohne Adresse "
        "verschwindet mit. Das lässt sich nicht rückgängig machen.",
        "remove_yes": "Ja, entfernen",
        "cancel": "Abbrechen",
        "removed": "Entfernt",
        "zones_prune": "Zonen entfernen, die nicht in der Datei stehen (mit ihren Mitgliedschaften)",
        "prune_title": "Zonen entfernen?",
        "prune_warning": "Die Datei wurde geprüft, aber noch nicht angewendet. Diese Zonen stehen nicht "
        "darin und werden mit ihren Mitgliedschaften entfernt:",
        "prune_members": "Abonnenten",
        "prune_confirm": "Anwenden und diese Zonen entfernen",
        "prune_nothing": "Keine Zone wird entfernt.",
        "import_counts": "{created} neu, {updated} geändert, {unchanged} unverändert; {added} Adresse(n) "
        "hinzugefügt; {refused} Zeile(n) abgelehnt",
        "canvass_zones": "Oder (auch): die Firmen in diesen Zonen",
        "canvass_zones_help": "Ohne Punkt auf der Karte geht die Befragung an die gewählten Zonen; mit "
        "beidem an alle im Kreis oder in einer Zone.",
    },
}
