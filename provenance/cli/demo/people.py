"""People in the demo world's web traffic: visits to an object's PURL page, its images in the
viewer, and downloads."""

from __future__ import annotations

from provenance.cli.demo.access_logs import AccessLogs, Client, image_ids, random_bare
from provenance.cli.demo.model import Object
from provenance.cli.demo.vocabulary import SECOND


class People(AccessLogs):
    """What a person does on a visit."""

    # --- who does what -----------------------------------------------------------------------

    def visit(self, person: Client, t: int) -> None:
        """Someone looks at an object: its PURL page and the viewer's images, maybe a download;
        or, from a search engine or the catalogue, straight to a file."""
        rng, secs = self.rng, self.world.secs
        obj = self.pick(t)
        if obj is None:  # an old or mistyped link
            self.purl_request(
                person.address, t, f"/{random_bare(rng)}", "PurlController#show", "HTML", 404
            )
            return
        if rng.random() < 0.25:
            self.download(person, t, obj, rng.choice(obj.files), self.referer())
            return
        bare = obj.bare
        status = self.status(not_modified=0.05, error=0.005)
        t = self.purl_request(person.address, t, f"/{bare}", "PurlController#show", "HTML", status)
        if status == 500:
            return
        page = f"https://purl.stanford.edu/{bare}"
        images = image_ids(obj)
        if images:
            t = self.purl_request(
                person.address,
                t + secs(0.1, 0.6),
                f"/{bare}/iiif/manifest",
                "IiifV2Controller#manifest",
                "JSON",
                self.status(not_modified=0.1),
            )
            t = self.viewer(person, t, bare, images, page)
        if rng.random() < 0.35:
            self.download(person, t + secs(5, 300), obj, rng.choice(obj.files), page)

    def viewer(self, person: Client, t: int, bare: str, images: list[str], page: str) -> int:
        """The embedded IIIF viewer: the first image's info.json, thumbnails, a few tiles."""
        rng, secs = self.rng, self.world.secs
        base = f"/image/iiif/{bare}%2F"
        first = images[0]
        t = self.stacks_request(
            person,
            t + secs(0.05, 0.4),
            "GET",
            f"{base}{first}/info.json",
            self.status(not_modified=0.15),
            700 + len(bare) + len(first) + rng.randrange(8) * 60,
            referer=page,
            took=secs(0.01, 0.15),
        )
        for image in images[:6]:
            self.stacks_request(
                person,
                t + secs(0, 0.3),
                "GET",
                f"{base}{image}/full/!400,400/0/default.jpg",
                self.status(not_modified=0.15, missing=0.005, error=0.005),
                rng.randrange(15_000, 60_000),
                referer=page,
                took=secs(0.05, 1.2),
            )
        for _ in range(rng.choice((0, 0, 1, 2, 4))):
            x, y = rng.randrange(4) * 1024, rng.randrange(4) * 1024
            t = self.stacks_request(
                person,
                t + secs(0.5, 20),
                "GET",
                f"{base}{first}/{x},{y},1024,1024/512,/0/default.jpg",
                self.status(not_modified=0.1),
                rng.randrange(20_000, 150_000),
                referer=page,
                took=secs(0.05, 0.8),
            )
        return t

    def download(self, client: Client, t: int, obj: Object, name: str, referer: str) -> int:
        """A file from stacks; audio and video mostly in ranges (206), as players ask."""
        rng, secs = self.rng, self.world.secs
        size = self.file_size(obj.bare, name)
        status = self.status(not_modified=0.04, missing=0.01, error=0.003)
        if status == 200 and name.endswith((".wav", ".mp4")) and rng.random() < 0.6:
            status, size = 206, rng.randrange(65_536, min(size, 8 * 1024**2))
        took = secs(0.005, 0.05)
        if status in (200, 206):
            took += size * SECOND // rng.randrange(2_000_000, 60_000_000)  # bytes per second
        target = f"/file/druid:{obj.bare}/{name}"
        if rng.random() < 0.2:
            target += "?download=true"
        return self.stacks_request(
            client, t, "GET", target, status, size, referer=referer, took=took, user=client.user
        )
