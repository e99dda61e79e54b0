// Package images builds container images as `docker save` tarballs, with no
// Docker daemon and no registry: layers from files, directories or tars,
// plus an image config. `docker load` and kind's image loading accept the
// result. It also assembles the probe agent's image.
package images
