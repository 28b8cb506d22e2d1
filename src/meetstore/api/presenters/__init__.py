"""Rendering at the edge: a service's typed result → the route's response model."""
