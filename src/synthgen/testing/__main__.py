"""``python -m synthgen.testing``: FakeTeacher as a process, for benchmarks and demos."""

from synthgen.testing.fake_teacher import main

raise SystemExit(main())
